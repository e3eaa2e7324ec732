/* The OpenCL sources of kernels/, embedded at build time (tools/embed.c). */
#ifndef TOMOGAN_KERNELS_EMBED_H
#define TOMOGAN_KERNELS_EMBED_H

struct tg_kernel_source {
	const char *name;    /* file name, e.g. "elementwise.cl" */
	const char *source;  /* its text */
};

/* Terminated by an entry whose name is NULL. */
extern const struct tg_kernel_source tg_kernel_sources[];

#endif
