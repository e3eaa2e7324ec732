/* check.h: assertions for the unit tests.  Each CHECK prints "PASS name" or
 * "FAIL name: why"; main returns check_finish() (non-zero on any failure). */
#ifndef TOMOGAN_CHECK_H
#define TOMOGAN_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures;

__attribute__((format(printf, 2, 3), unused))
static int check(int ok, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(ok ? "PASS " : "FAIL ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	va_end(ap);
	fflush(stdout);
	if (!ok)
		check_failures++;
	return ok;
}

/* Largest |a-b| / max(|b|, floor) over n values. */
__attribute__((unused))
static double check_max_rel(const float *a, const float *b, size_t n, double floor_)
{
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		double s = fabs((double)b[i]);
		double e = d / (s > floor_ ? s : floor_);
		if (!(e <= worst))  /* NaN counts as the worst */
			worst = isnan(e) ? INFINITY : e;
	}
	return worst;
}

__attribute__((unused))
static double check_max_abs(const float *a, const float *b, size_t n)
{
	double worst = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= worst))
			worst = isnan(d) ? INFINITY : d;
	}
	return worst;
}

__attribute__((unused))
static int check_finish(void)
{
	return check_failures ? 1 : 0;
}

#endif
