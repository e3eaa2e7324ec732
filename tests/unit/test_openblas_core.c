/* tg_init makes a program that uses OpenBLAS run its fast kernels: on CPUs
 * that OpenBLAS 0.3.21 does not recognise, it would otherwise fall back to
 * its SSE3 "Prescott" kernels (cli.c, fix_openblas_kernels). */
#include <string.h>

#include <cblas.h>

#include "check.h"
#include "cli.h"

char *openblas_get_corename(void);

int main(int argc, char **argv)
{
	tg_init(argc, argv, "test_openblas_core", "test_openblas_core");
	const char *core = openblas_get_corename();
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx2")) {
		printf("SKIP openblas core: CPU without AVX2 (core %s)\n", core);
		return 0;
	}
	check(strcmp(core, "Prescott") != 0, "OpenBLAS uses AVX kernels after tg_init (core %s)", core);
	/* and the result of a product is still right */
	float a[6] = { 1, 2, 3, 4, 5, 6 }, b[6] = { 1, 0, 0, 1, 1, 1 }, c[4];
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 3, 1, a, 3, b, 2, 0, c, 2);
	check(c[0] == 4 && c[1] == 5 && c[2] == 10 && c[3] == 11, "sgemm 2x3x2 exact");
	return check_finish();
}
