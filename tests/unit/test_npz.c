/* test_npz.c: .npz reading and writing (fid/npz.h) against files written by
 * NumPy (tests/make_fid_fixtures.py -> tests/fixtures/fid/): values read
 * exactly, our writer's bytes equal numpy.savez's, damaged files refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "fid/npz.h"

#define D 8

static char fixdir[1024];

static const char *fixture(const char *name)
{
	static char path[1200];
	snprintf(path, sizeof path, "%s/%s", fixdir, name);
	return path;
}

/* the fixture arrays: mu[i] = i * 0.25 - 1, sigma[i][j] = 1 / (i + j + 1) */
static double want_mu(int i)
{
	return (double)i * 0.25 - 1.0;
}

static double want_sigma(int i, int j)
{
	return 1.0 / ((double)i + (double)j + 1.0);
}

static int stats_exact(const double *mu, const double *sigma, size_t d)
{
	if (d != D)
		return 0;
	for (int i = 0; i < D; i++) {
		if (mu[i] != want_mu(i))
			return 0;
		for (int j = 0; j < D; j++)
			if (sigma[i * D + j] != want_sigma(i, j))
				return 0;
	}
	return 1;
}

static void test_numpy_files(void)
{
	const char *files[] = {"savez.npz", "savez_compressed.npz", "v2.npz"};
	for (int f = 0; f < 3; f++) {
		size_t d;
		double *mu, *sigma;
		char err[TG_NPZ_ERR_LEN] = "";
		ts_status st = tg_npz_read_stats(fixture(files[f]), &d, &mu, &sigma, err);
		check(st == TS_OK && stats_exact(mu, sigma, d), "npz: %s read exactly (d=%zu) %s",
		      files[f], d, err);
		free(mu);
		free(sigma);
	}

	/* pytorch-fid's shape: 2048-d, savez_compressed (deflate) */
	size_t d;
	double *mu, *sigma;
	char err[TG_NPZ_ERR_LEN] = "";
	ts_status st = tg_npz_read_stats(fixture("savez_2048.npz"), &d, &mu, &sigma, err);
	int ok = st == TS_OK && d == 2048;
	for (size_t i = 0; ok && i < d; i++) {
		ok &= mu[i] == 0;
		for (size_t j = 0; j < d; j++)
			ok &= sigma[i * d + j] == (i == j ? 1.0 : 0.0);
	}
	check(ok, "npz: savez_2048.npz (compressed, mu 0, sigma I) read exactly %s", err);
	free(mu);
	free(sigma);

	/* float32 members, sigma non-symmetric in Fortran order */
	unsigned char *buf;
	size_t len;
	tg_npy_array a, b;
	tg_npz_slurp(fixture("f4_fortran.npz"), &buf, &len, err);
	st = tg_npz_get(buf, len, "mu", &a, err);
	ts_status st2 = tg_npz_get(buf, len, "sigma", &b, err);
	ok = st == TS_OK && st2 == TS_OK && a.ndim == 1 && a.count == D && b.ndim == 2 &&
	     b.shape[0] == D && b.shape[1] == D;
	for (int i = 0; ok && i < D; i++) {
		ok &= a.data[i] == (double)(float)want_mu(i);
		for (int j = 0; j < D; j++)
			ok &= b.data[i * D + j] == 10.0 * i + j;
	}
	check(ok, "npz: '<f4' members and a Fortran-order 2-D array read in C order %s", err);
	tg_npy_free(&a);
	tg_npy_free(&b);
	free(buf);

	tg_npz_slurp(fixture("big_endian.npz"), &buf, &len, err);
	err[0] = 0;
	st = tg_npz_get(buf, len, "mu", &a, err);
	check(st == TS_ERR_VERSION && strstr(err, ">f8"), "npz: dtype '>f8' refused: %s", err);
	st = tg_npz_get(buf, len, "sigma", &a, err);
	check(st == TS_OK && a.count == D * D, "npz: the other member of that file still reads");
	tg_npy_free(&a);
	free(buf);

	err[0] = 0;
	st = tg_npz_read_stats(fixture("no_sigma.npz"), &d, &mu, &sigma, err);
	check(st == TS_ERR_DIMS && strstr(err, "sigma") && !mu && !sigma,
	      "npz: missing sigma refused: %s", err);
	st = tg_npz_read_stats(fixture("does_not_exist.npz"), &d, &mu, &sigma, err);
	check(st == TS_ERR_IO, "npz: a missing file is an I/O error: %s", err);
}

static void test_writer(void)
{
	double mu[D], sigma[D * D];
	for (int i = 0; i < D; i++) {
		mu[i] = want_mu(i);
		for (int j = 0; j < D; j++)
			sigma[i * D + j] = want_sigma(i, j);
	}
	unsigned char *want;
	size_t want_len;
	char err[TG_NPZ_ERR_LEN] = "";
	tg_npz_slurp(fixture("savez.npz"), &want, &want_len, err);
	char *got = NULL;
	size_t got_len = 0;
	FILE *f = open_memstream(&got, &got_len);
	ts_status st = tg_npz_write_stats(f, mu, sigma, D, err);
	fclose(f);
	check(st == TS_OK && got_len == want_len && memcmp(got, want, want_len) == 0,
	      "npz: our writer's bytes equal numpy.savez's (%zu vs %zu bytes) %s", got_len, want_len, err);

	/* a 2048-d round trip through our own reader */
	size_t d = 2048;
	double *m = malloc(d * sizeof *m), *s = malloc(d * d * sizeof *s);
	for (size_t i = 0; i < d; i++) {
		m[i] = (double)i / 3.0;
		for (size_t j = 0; j < d; j++)
			s[i * d + j] = (double)(i * d + j) * 1e-7 - 0.2;
	}
	char *big = NULL;
	size_t big_len = 0;
	f = open_memstream(&big, &big_len);
	st = tg_npz_write_stats(f, m, s, d, err);
	fclose(f);
	tg_npy_array a = {0}, b = {0};
	ts_status s1 = tg_npz_get((unsigned char *)big, big_len, "mu", &a, err);
	ts_status s2 = tg_npz_get((unsigned char *)big, big_len, "sigma", &b, err);
	int ok = st == TS_OK && s1 == TS_OK && s2 == TS_OK && a.count == d && b.count == d * d &&
	         !memcmp(a.data, m, d * sizeof *m) && !memcmp(b.data, s, d * d * sizeof *s);
	check(ok, "npz: 2048-d statistics round trip bit-exact (%zu bytes)", big_len);
	tg_npy_free(&a);
	tg_npy_free(&b);
	free(m), free(s), free(big), free(got), free(want);
}

/* Every truncation and every single-byte change of a valid file: an error,
 * or (a change in a field nobody reads) the exact values; never anything else. */
static void test_damage(const char *name)
{
	unsigned char *buf;
	size_t len;
	char err[TG_NPZ_ERR_LEN];
	if (!check(tg_npz_slurp(fixture(name), &buf, &len, err) == TS_OK, "npz: %s readable", name))
		return;
	int bad_trunc = 0, silent = 0, flips_ok = 0;
	for (size_t n = 0; n < len; n++) {
		tg_npy_array a;
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		if (tg_npz_get(copy, n, "sigma", &a, err) == TS_OK)
			bad_trunc++;
		tg_npy_free(&a);
		free(copy);
	}
	for (size_t k = 0; k < len; k++) {
		tg_npy_array a, m;
		buf[k] ^= 0x5A;
		ts_status st = tg_npz_get(buf, len, "sigma", &a, err);
		ts_status sm = tg_npz_get(buf, len, "mu", &m, err);
		if (st == TS_OK && sm == TS_OK) {
			flips_ok++;
			if (a.count != D * D || m.count != D)
				silent++;
			for (int i = 0; !silent && i < D; i++)
				for (int j = 0; j < D; j++)
					if (a.data[i * D + j] != want_sigma(i, j) || m.data[i] != want_mu(i))
						silent++;
		}
		tg_npy_free(&a);
		tg_npy_free(&m);
		buf[k] ^= 0x5A;
	}
	check(bad_trunc == 0 && silent == 0,
	      "npz: %s: %zu truncations all refused, %zu byte changes never silent (%d harmless)",
	      name, len, len, flips_ok);
	free(buf);
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v, p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16), p[3] = (unsigned char)(v >> 24);
}

static void test_refusals(void)
{
	unsigned char *buf;
	size_t len;
	char err[TG_NPZ_ERR_LEN] = "";
	tg_npy_array a;
	tg_npz_slurp(fixture("savez.npz"), &buf, &len, err);
	size_t eocd = len - 22;
	uint32_t cd_off = (uint32_t)buf[eocd + 16] | (uint32_t)buf[eocd + 17] << 8 |
	                  (uint32_t)buf[eocd + 18] << 16 | (uint32_t)buf[eocd + 19] << 24;
	put32(buf + eocd + 12, 0xFFFFFFFFu);
	ts_status st = tg_npz_get(buf, len, "mu", &a, err);
	check(st == TS_ERR_VERSION && strstr(err, "ZIP64"), "npz: ZIP64 end record refused: %s", err);
	free(buf);

	tg_npz_slurp(fixture("savez.npz"), &buf, &len, err);
	put32(buf + cd_off + 24, 0xFFFFFFFFu);  /* first entry's uncompressed size */
	st = tg_npz_get(buf, len, "mu", &a, err);
	check(st == TS_ERR_VERSION && strstr(err, "ZIP64"), "npz: ZIP64 member size refused: %s", err);
	buf[cd_off + 24] = 0x98, buf[cd_off + 25] = 0, buf[cd_off + 26] = 0, buf[cd_off + 27] = 0;
	buf[cd_off + 10] = 12;   /* method 12 = bzip2, in the central directory */
	st = tg_npz_get(buf, len, "mu", &a, err);
	check(st == TS_ERR_VERSION && strstr(err, "method 12"), "npz: bzip2 member refused: %s", err);
	free(buf);

	/* .npy headers */
	static const char *bad[] = {
		"{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
		"{'descr': '<f8', 'fortran_order': False, 'shape': (1,), 'x': 1}",
		"{'descr': '<f8', 'shape': (1,), }",
		"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
		"{'descr': '<f8', 'fortran_order': Maybe, 'shape': (1,), }",
		"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,), }",
		"{'descr': '<f8', 'fortran_order': True, 'shape': (1, 1, 1), }",
	};
	static const ts_status want[] = {TS_ERR_VERSION, TS_ERR_CORRUPT, TS_ERR_CORRUPT, TS_ERR_CORRUPT,
	                                 TS_ERR_CORRUPT, TS_ERR_LIMIT, TS_ERR_VERSION};
	for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
		unsigned char npy[256];
		size_t h = strlen(bad[k]);
		memcpy(npy, "\x93NUMPY\x01\x00", 8);
		npy[8] = (unsigned char)(h + 1), npy[9] = 0;
		memcpy(npy + 10, bad[k], h);
		npy[10 + h] = '\n';
		memset(npy + 11 + h, 0, 8);   /* one float64 */
		err[0] = 0;
		st = tg_npy_parse(npy, 19 + h, &a, err);
		check(st == want[k], "npy: header %zu refused with status %d (want %d): %s", k, st,
		      want[k], err);
		tg_npy_free(&a);
	}
	/* an empty and a 0-d array are fine */
	const char *ok0 = "{'descr': '<f8', 'fortran_order': False, 'shape': (), }";
	unsigned char npy[256];
	size_t h = strlen(ok0);
	memcpy(npy, "\x93NUMPY\x01\x00", 8);
	npy[8] = (unsigned char)(h + 1), npy[9] = 0;
	memcpy(npy + 10, ok0, h);
	npy[10 + h] = '\n';
	double v = 2.5;
	memcpy(npy + 11 + h, &v, 8);
	st = tg_npy_parse(npy, 19 + h, &a, err);
	check(st == TS_OK && a.ndim == 0 && a.count == 1 && a.data[0] == 2.5, "npy: a 0-d array reads");
	tg_npy_free(&a);
}

static void test_inflate(void)
{
	unsigned char *bin;
	size_t len;
	char err[TG_NPZ_ERR_LEN] = "";
	if (!check(tg_npz_slurp(fixture("deflate.bin"), &bin, &len, err) == TS_OK, "inflate: deflate.bin"))
		return;
	FILE *f = fopen(fixture("expected.txt"), "r");
	char line[512];
	int cases = 0;
	while (f && fgets(line, sizeof line, f)) {
		char name[32];
		unsigned long n, off, clen, ulen;
		if (sscanf(line, "deflate %31s %lu %lu %lu %lu", name, &n, &off, &clen, &ulen) != 5)
			continue;
		cases++;
		char *text = malloc(ulen + 64);
		size_t k = 0;
		for (unsigned long i = 0; i < n && k < ulen + 32; i++)
			k += (size_t)snprintf(text + k, ulen + 64 - k, "line %lu: %lu\n", i, i * i % 97);
		unsigned char *out = malloc(ulen);
		err[0] = 0;
		ts_status st = off + clen <= len ? tg_inflate(bin + off, clen, out, ulen, err) : TS_ERR_ARG;
		check(st == TS_OK && k == ulen && memcmp(out, text, ulen) == 0,
		      "inflate: %s block(s) from zlib, %lu -> %lu bytes %s", name, clen, ulen, err);
		/* one byte short of input, or a wrong stated size: refused */
		st = tg_inflate(bin + off, clen - 1, out, ulen, err);
		ts_status st2 = tg_inflate(bin + off, clen, out, ulen - 1, err);
		check(st != TS_OK && st2 != TS_OK, "inflate: %s: truncated input or short output refused",
		      name);
		free(text);
		free(out);
	}
	if (f)
		fclose(f);
	check(cases == 3, "inflate: three cases in expected.txt");
	free(bin);
}

int main(void)
{
	const char *fx = getenv("FIXTURES");
	snprintf(fixdir, sizeof fixdir, "%s/fid", fx ? fx : "tests/fixtures");
	check(tg_crc32(0, "123456789", 9) == 0xCBF43926u, "crc32: check value of \"123456789\"");
	test_numpy_files();
	test_writer();
	test_damage("savez.npz");
	test_damage("savez_compressed.npz");
	test_refusals();
	test_inflate();
	return check_finish();
}
