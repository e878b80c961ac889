/* What io.c and io_serial.c share: HDF5's error stack and path checks.  Private to
 * src/core's I/O files. */
#ifndef GPA_IO_INTERNAL_H
#define GPA_IO_INTERNAL_H

#include <hdf5.h>

/* The innermost message of HDF5's error stack ("inflate() failed") in buf, "" when there is
 * none; clears the stack. */
void gpa_io_innermost(char buf[256]);

/* 1 when every component of the absolute or relative path `name` exists as a link in
 * `file` (H5Lexists needs each parent to exist); HDF5's error stack is left clear. */
int gpa_io_path_exists(hid_t file, const char *name);

#endif
