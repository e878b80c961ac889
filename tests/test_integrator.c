/* The Runge-Kutta stage loop: observed orders 1, 2 and 4 on a field with a known flow, and the
 * stage protocol the GPA field relies on. */
#include <string.h>

#include "gpa/config.h"
#include "gpa/integrator.h"
#include "testutil.h"

/* A damped rotation v = A y, A = [[-a, -w], [w, -a]], applied to several independent points;
 * exact flow y(t) = exp(-a t) R(w t) y0. */
static const double A_DAMP = 0.5, A_ROT = 1.0;

static int spiral(void *ctx, int stage, const double *y, double *v) {
  int *calls = ctx;
  calls[stage]++;
  for (int i = 0; i < 3; i++) {
    v[2 * i] = -A_DAMP * y[2 * i] - A_ROT * y[2 * i + 1];
    v[2 * i + 1] = A_ROT * y[2 * i] - A_DAMP * y[2 * i + 1];
  }
  return GPA_OK;
}

static double error_after(int kind, int steps, double T) {
  struct gpa_integrator it;
  TEST_OK(gpa_integrator_create(&it, kind, 6));
  double y0[6] = {1, 0, 0.3, -2, -1, 1}, y[6];
  memcpy(y, y0, sizeof y);
  int calls[4] = {0};
  for (int n = 0; n < steps; n++)
    TEST_OK(gpa_integrator_step(&it, T / steps, y, spiral, calls, NULL));
  for (int s = 0; s < it.tab->stages; s++) assert_int_equal(calls[s], steps);
  double err = 0.0, e = exp(-A_DAMP * T), c = cos(A_ROT * T), s = sin(A_ROT * T);
  for (int i = 0; i < 3; i++) {
    double ex = e * (c * y0[2 * i] - s * y0[2 * i + 1]);
    double ey = e * (s * y0[2 * i] + c * y0[2 * i + 1]);
    err = fmax(err, hypot(y[2 * i] - ex, y[2 * i + 1] - ey));
  }
  gpa_integrator_destroy(&it);
  return err;
}

static void test_orders(void **state) {
  (void)state;
  const int kinds[3] = {GPA_INT_EULER, GPA_INT_HEUN, GPA_INT_RK4};
  const double expected[3] = {1, 2, 4};
  for (int k = 0; k < 3; k++) {
    double e1 = error_after(kinds[k], 40, 2.0), e2 = error_after(kinds[k], 80, 2.0);
    double e3 = error_after(kinds[k], 160, 2.0);
    double p1 = log2(e1 / e2), p2 = log2(e2 / e3);
    print_message("%-6s errors %.3e %.3e %.3e  observed order %.3f %.3f\n",
                  gpa_tableau_get(kinds[k])->name, e1, e2, e3, p1, p2);
    ASSERT_CLOSE(p2, expected[k], 0, 0.1);
    assert_int_equal(gpa_tableau_get(kinds[k])->order, (int)expected[k]);
  }
}

/* Records the stage positions the loop asks for; v is constant per stage. */
struct probe {
  double seen[4];
};
static int probe_field(void *ctx, int stage, const double *y, double *v) {
  struct probe *p = ctx;
  p->seen[stage] = y[0];
  v[0] = stage + 1.0;
  return GPA_OK;
}

static void test_stage_protocol(void **state) {
  (void)state;
  struct gpa_integrator it;
  TEST_OK(gpa_integrator_create(&it, GPA_INT_RK4, 1));
  double y = 10.0, vel = 0.0, dt = 0.1;
  struct probe pr;
  TEST_OK(gpa_integrator_step(&it, dt, &y, probe_field, &pr, &vel));
  ASSERT_CLOSE(pr.seen[0], 10.0, 0, 1e-15);
  ASSERT_CLOSE(pr.seen[1], 10.0 + 0.5 * dt * 1, 0, 1e-15);
  ASSERT_CLOSE(pr.seen[2], 10.0 + 0.5 * dt * 2, 0, 1e-15);
  ASSERT_CLOSE(pr.seen[3], 10.0 + dt * 3, 0, 1e-15);
  ASSERT_CLOSE(vel, (1 + 2 * 2 + 2 * 3 + 4) / 6.0, 1e-15, 0);
  ASSERT_CLOSE(y, 10.0 + dt * vel, 1e-15, 0);
  gpa_integrator_destroy(&it);
}

int main(int argc, char **argv);
static const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_orders),
    cmocka_unit_test(test_stage_protocol),
};
GPA_TEST_MAIN(tests)
