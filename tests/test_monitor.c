/* The stopping rules of the monitor: max_steps, ke_tol, div_tol, and a kinetic energy of exactly
 * 0 (phi flat at every particle) reported as a stall rather than convergence. */
#include <string.h>

#include "gpa/config.h"
#include "gpa/monitor.h"
#include "testutil.h"

static struct gpa_monitor m;

static const char *reason_after(double divergence, double ke, int64_t step, double ke_tol,
                                double div_tol) {
  m.count = 0;
  struct gpa_params p;
  gpa_params_default(&p);
  p.transport.max_steps = 10;
  p.transport.ke_tol = ke_tol;
  p.transport.div_tol = div_tol;
  gpa_monitor_record(&m, step, divergence, ke, ke > 0 ? 1.0 : 0.0, 0.1);
  return gpa_monitor_stop_reason(&m, &p);
}

static void test_stop_rules(void **state) {
  (void)state;
  TEST_OK(gpa_monitor_create(&m, 16));
  assert_null(reason_after(0.5, 1e-3, 3, 0.0, -INFINITY));
  assert_non_null(strstr(reason_after(0.5, 1e-3, 10, 0.0, -INFINITY), "max_steps"));
  assert_non_null(strstr(reason_after(0.5, 1e-7, 3, 1e-6, -INFINITY), "ke_tol"));
  assert_non_null(strstr(reason_after(1e-4, 1e-3, 3, 0.0, 1e-3), "div_tol"));
  /* KE exactly 0: a stall, named as such, never "below ke_tol" */
  const char *r = reason_after(0.0, 0.0, 3, 1e-6, -INFINITY);
  assert_non_null(r);
  assert_non_null(strstr(r, "stalled"));
  assert_null(strstr(r, "ke_tol"));
  /* without ke_tol a flat phi does not stop the run (training may revive it) */
  assert_null(reason_after(0.0, 0.0, 3, 0.0, -INFINITY));
  gpa_monitor_destroy(&m);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_stop_rules),
};
GPA_TEST_MAIN(tests)
