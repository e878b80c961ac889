#!/usr/bin/Rscript
# Export the two Debian gene-expression data sets to plain files for build_layout_v1.py.
#
#   Rscript inputs/data/export_debian_datasets.R EXPORT_DIR
#
# No transformation happens here: values are written exactly as the packages ship them
# (float64, bit for bit); filtering, log1p, codes and the HDF5 layout are done in Python.
# Per data set, EXPORT_DIR/<name>/ receives
#   X.f64    little-endian float64, samples x genes, C order (one sample after another)
#   dims.tsv n_samples, n_genes
#   obs.tsv  one row per sample (tab-separated, header; doubles as %.17g so they survive text)
#   var.tsv  one row per gene
suppressPackageStartupMessages(library(Biobase))   # exprs()/pData() for the ExpressionSet

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript export_debian_datasets.R EXPORT_DIR")
out <- args[1]

# m: genes x samples matrix. R stores it column-major, so as.vector(m) is sample after
# sample = the samples x genes matrix in C order.
write_x <- function(dir, m) {
    con <- file(file.path(dir, "X.f64"), "wb")
    writeBin(as.vector(m), con, size = 8, endian = "little")
    close(con)
    write.table(data.frame(n_samples = ncol(m), n_genes = nrow(m)), file.path(dir, "dims.tsv"),
                sep = "\t", quote = FALSE, row.names = FALSE)
}
write_tsv <- function(df, path) {
    for (k in names(df)) if (is.double(df[[k]])) df[[k]] <- sprintf("%.17g", df[[k]])
    write.table(df, path, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
}

# ---- bladderbatch: object bladderEset (Biobase ExpressionSet) from data(bladderdata) ----
# exprs: 22283 HG-U133A probe sets x 57 arrays, already log2 (kept as is).
# pData columns: sample (1..57), outcome, batch (1..5, processing date), cancer.
data(bladderdata, package = "bladderbatch")
d <- file.path(out, "bladderbatch"); dir.create(d, recursive = TRUE, showWarnings = FALSE)
e <- exprs(bladderEset)
p <- pData(bladderEset)
stopifnot(identical(rownames(p), colnames(e)))
write_x(d, e)
write_tsv(data.frame(sample_id = colnames(e), batch = as.integer(p$batch),
                     cancer = as.character(p$cancer), outcome = as.character(p$outcome)),
          file.path(d, "obs.tsv"))
write_tsv(data.frame(gene_id = rownames(e)), file.path(d, "var.tsv"))

# ---- HSMMSingleCell: HSMM_expr_matrix, HSMM_sample_sheet, HSMM_gene_annotation ----
# expr matrix: 47192 genes (versioned Ensembl ids) x 271 cells, Cufflinks FPKM (all genes
# exported; the FPKM > 0 in >= 10 cells filter and ln(1 + FPKM) are applied in Python).
# sample sheet: Library "SCC100xx_<well>" (prefix = C1 capture chip), Hours, Media, State
# (Monocle), Pseudotime, Mapped.Fragments. Gene annotation: gene_short_name, biotype.
data(HSMM_expr_matrix, HSMM_sample_sheet, HSMM_gene_annotation, package = "HSMMSingleCell")
d <- file.path(out, "hsmm"); dir.create(d, recursive = TRUE, showWarnings = FALSE)
m <- HSMM_expr_matrix
s <- HSMM_sample_sheet
g <- HSMM_gene_annotation
stopifnot(identical(rownames(s), colnames(m)), identical(rownames(g), rownames(m)))
write_x(d, m)
write_tsv(data.frame(sample_id = colnames(m),
                     chip = sub("_.*$", "", as.character(s$Library)),
                     hours = as.integer(as.character(s$Hours)),
                     media = as.character(s$Media),
                     state = as.character(s$State),
                     pseudotime = as.double(s$Pseudotime),
                     mapped_fragments = as.double(s$Mapped.Fragments)),
          file.path(d, "obs.tsv"))
write_tsv(data.frame(gene_id = rownames(m), gene_symbol = as.character(g$gene_short_name),
                     biotype = as.character(g$biotype)),
          file.path(d, "var.tsv"))
cat("exported bladderbatch and hsmm to", out, "\n")
