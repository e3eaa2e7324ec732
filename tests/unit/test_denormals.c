/* tg_init flushes denormal floats to zero in the program's threads, the
 * OpenBLAS threads that existed before it included (cli.c,
 * flush_denormals): a matrix of denormals multiplies as zeros. */
#include <pthread.h>
#include <stdlib.h>

#include <cblas.h>
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

#include "check.h"
#include "cli.h"

#if defined(__x86_64__)
static void *thread_csr(void *arg)
{
	*(unsigned *)arg = _mm_getcsr();
	return NULL;
}
#endif

int main(int argc, char **argv)
{
#if defined(__x86_64__)
	/* OpenBLAS started its threads when it loaded, before tg_init */
	enum { N = 512 };
	float *a = malloc(sizeof(float) * N * N), *b = malloc(sizeof(float) * N * N);
	float *c = malloc(sizeof(float) * N * N);
	for (int i = 0; i < N * N; i++)
		a[i] = 1e-39f, b[i] = 1.0f;   /* 1e-39 is a denormal float */
	unsetenv("TOMOGAN_DENORMALS");
	tg_init(argc, argv, "test_denormals", "test_denormals");
	unsigned csr = _mm_getcsr(), tcsr = 0;
	check((csr & 0x8040) == 0x8040, "FTZ and DAZ set in the main thread (MXCSR %#x)", csr);
	pthread_t t;
	if (pthread_create(&t, NULL, thread_csr, &tcsr) == 0)
		pthread_join(t, NULL);
	check((tcsr & 0x8040) == 0x8040, "and in a thread started after (MXCSR %#x)", tcsr);
	volatile float x = 1e-39f;
	check(x * 1.0f == 0.0f, "a denormal times one is zero");
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, N, N, N, 1, a, N, b, N, 0, c, N);
	int nonzero = 0;
	for (int i = 0; i < N * N; i++)
		nonzero += c[i] != 0.0f;
	check(nonzero == 0, "sgemm %dx%dx%d of denormals on OpenBLAS's threads: %d nonzero of %d "
	      "(without the flush each would be %g)", N, N, N, nonzero, N * N, 1e-39 * N);
	free(a), free(b), free(c);
#else
	(void)argc, (void)argv;
	printf("SKIP denormals: not an x86-64 build\n");
#endif
	return check_finish();
}
