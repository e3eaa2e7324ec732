/* pickle.c: a minimal, non-executing unpickler for PyTorch's legacy
 * state_dict files (see pickle.h). */
#include "fid/pickle.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STACK ((size_t)1 << 20)
#define MAX_MEMO ((size_t)1 << 22)
#define MAX_ITEMS ((size_t)1 << 24)
#define MAX_VALUES ((size_t)1 << 24)
#define MAX_STRING ((size_t)1 << 20)

enum {
	V_NONE, V_BOOL, V_INT, V_LONG, V_FLOAT, V_STR, V_TUPLE, V_LIST, V_DICT,
	V_GLOBAL, V_STORAGE, V_TENSOR, V_OBJECT
};

typedef struct val {
	int type;
	int64_t i;                  /* BOOL, INT */
	char *s;                    /* STR, LONG (raw bytes), GLOBAL ("module name"), STORAGE key */
	size_t slen;
	struct val **items;         /* TUPLE, LIST: n values; DICT: n key/value pairs (2n) */
	size_t n, cap;
	/* STORAGE */
	char stype[32];
	uint64_t numel;
	size_t elsize;
	const unsigned char *bytes; /* its raw data in the file, once read */
	/* TENSOR */
	struct val *storage;
	uint64_t offset;
	int ndim;
	uint64_t shape[TG_PT_MAX_DIMS];
	uint64_t stride[TG_PT_MAX_DIMS];
} val;

typedef struct {
	const unsigned char *buf;
	size_t len, pos;
	val **pool;                 /* every value, freed at the end */
	size_t npool, cappool;
	val **stack;
	size_t sp, capstack;
	size_t *marks;
	size_t nmarks, capmarks;
	val **memo;
	size_t capmemo, memo_count;
	val **storages;             /* distinct storages by key */
	size_t nstor, capstor;
	char *err;
} vm;

__attribute__((format(printf, 3, 4)))
static ts_status fail(char *err, ts_status st, const char *fmt, ...)
{
	if (err) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, TG_PT_ERR_LEN, fmt, ap);
		va_end(ap);
	}
	return st;
}

/* Makes room for need elements of size el in *p (capacity *cap). */
static int grow(void *pp, size_t *cap, size_t need, size_t el)
{
	void **p = pp;
	if (need <= *cap)
		return 1;
	size_t nc = *cap ? *cap : 16;
	while (nc < need)
		nc *= 2;
	void *q = realloc(*p, nc * el);
	if (!q)
		return 0;
	*p = q;
	*cap = nc;
	return 1;
}

static val *new_val(vm *m, int type)
{
	if (m->npool >= MAX_VALUES || !grow(&m->pool, &m->cappool, m->npool + 1, sizeof *m->pool))
		return NULL;
	val *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	v->type = type;
	m->pool[m->npool++] = v;
	return v;
}

static void free_vm(vm *m)
{
	for (size_t i = 0; i < m->npool; i++) {
		free(m->pool[i]->s);
		free(m->pool[i]->items);
		free(m->pool[i]);
	}
	free(m->pool);
	free(m->stack);
	free(m->marks);
	free(m->memo);
	free(m->storages);
}

static int add_item(val *c, val *item)
{
	if (c->n >= MAX_ITEMS * 2 || !grow(&c->items, &c->cap, c->n + 1, sizeof *c->items))
		return 0;
	c->items[c->n++] = item;
	return 1;
}

static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Element size of a torch.XStorage type, 0 if unknown. */
static size_t storage_elsize(const char *t)
{
	static const struct { const char *name; size_t size; } sizes[] = {
		{"FloatStorage", 4}, {"DoubleStorage", 8}, {"HalfStorage", 2},
		{"BFloat16Storage", 2}, {"LongStorage", 8}, {"IntStorage", 4},
		{"ShortStorage", 2}, {"CharStorage", 1}, {"ByteStorage", 1},
		{"BoolStorage", 1}, {"ComplexFloatStorage", 8}, {"ComplexDoubleStorage", 16},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		if (!strcmp(t, sizes[i].name))
			return sizes[i].size;
	return 0;
}

#define FAIL(...) fail(m->err, TS_ERR_CORRUPT, __VA_ARGS__)

static ts_status push(vm *m, val *v)
{
	if (!v)
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	if (m->sp >= MAX_STACK || !grow(&m->stack, &m->capstack, m->sp + 1, sizeof *m->stack))
		return fail(m->err, TS_ERR_LIMIT, "pickle stack too deep");
	m->stack[m->sp++] = v;
	return TS_OK;
}

/* Pops one value, never below the innermost mark. */
static val *pop(vm *m)
{
	size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
	return m->sp > floor ? m->stack[--m->sp] : NULL;
}

static val *top(vm *m)
{
	size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
	return m->sp > floor ? m->stack[m->sp - 1] : NULL;
}

/* Removes the innermost mark; its values are stack[*first .. sp). */
static int pop_mark(vm *m, size_t *first)
{
	if (!m->nmarks)
		return 0;
	*first = m->marks[--m->nmarks];
	return 1;
}

static int need(vm *m, size_t n)
{
	return m->len - m->pos >= n;
}

static ts_status make_tuple(vm *m, val **items, size_t n)
{
	val *t = new_val(m, V_TUPLE);
	if (!t)
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (!add_item(t, items[i]))
			return fail(m->err, TS_ERR_NOMEM, "out of memory");
	return push(m, t);
}

static int is_global(const val *v, const char *name)
{
	return v->type == V_GLOBAL && !strcmp(v->s, name);
}

static int get_uint(const val *v, uint64_t *out)
{
	if (v->type != V_INT || v->i < 0)
		return 0;
	*out = (uint64_t)v->i;
	return 1;
}

/* ('storage', torch.XStorage, key, location, numel, view_metadata) */
static ts_status persistent_load(vm *m, val *pid)
{
	if (pid->type != V_TUPLE || pid->n < 5 || pid->n > 6 || pid->items[0]->type != V_STR ||
	    strcmp(pid->items[0]->s, "storage") != 0)
		return FAIL("persistent id is not a ('storage', ...) tuple");
	val *type = pid->items[1], *key = pid->items[2], *count = pid->items[4];
	uint64_t numel;
	if (type->type != V_GLOBAL || strncmp(type->s, "torch ", 6) != 0 || key->type != V_STR ||
	    !get_uint(count, &numel))
		return FAIL("malformed storage persistent id");
	if (pid->n == 6 && pid->items[5]->type != V_NONE)
		return fail(m->err, TS_ERR_VERSION, "storage views (view_metadata) are not supported");
	const char *tname = type->s + 6;
	size_t el = storage_elsize(tname);
	if (!el || strlen(tname) >= sizeof ((val *)0)->stype)
		return fail(m->err, TS_ERR_VERSION, "unknown storage type torch.%s", tname);
	for (size_t i = 0; i < m->nstor; i++)
		if (!strcmp(m->storages[i]->s, key->s)) {
			val *s = m->storages[i];
			if (s->numel != numel || strcmp(s->stype, tname) != 0)
				return FAIL("storage '%s' described twice differently", key->s);
			return push(m, s);
		}
	if (numel > ((uint64_t)1 << 40))
		return fail(m->err, TS_ERR_LIMIT, "storage of %llu elements", (unsigned long long)numel);
	val *s = new_val(m, V_STORAGE);
	if (!s || !grow(&m->storages, &m->capstor, m->nstor + 1, sizeof *m->storages))
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	s->s = strdup(key->s);
	if (!s->s)
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	s->slen = key->slen;
	snprintf(s->stype, sizeof s->stype, "%s", tname);
	s->numel = numel;
	s->elsize = el;
	m->storages[m->nstor++] = s;
	return push(m, s);
}

/* _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad,
 * backward_hooks[, metadata]) */
static ts_status rebuild_tensor(vm *m, val *args)
{
	if (args->n < 4 || args->items[0]->type != V_STORAGE)
		return FAIL("_rebuild_tensor_v2: bad arguments");
	val *size = args->items[2], *stride = args->items[3];
	val *t = new_val(m, V_TENSOR);
	if (!t)
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	t->storage = args->items[0];
	if (!get_uint(args->items[1], &t->offset) || size->type != V_TUPLE ||
	    stride->type != V_TUPLE || size->n != stride->n)
		return FAIL("_rebuild_tensor_v2: bad offset, size or stride");
	if (size->n > TG_PT_MAX_DIMS)
		return fail(m->err, TS_ERR_LIMIT, "tensor of %zu dimensions", size->n);
	t->ndim = (int)size->n;
	for (int k = 0; k < t->ndim; k++)
		if (!get_uint(size->items[k], &t->shape[k]) || !get_uint(stride->items[k], &t->stride[k]))
			return FAIL("_rebuild_tensor_v2: bad size or stride");
	return push(m, t);
}

static ts_status reduce(vm *m)
{
	val *args = pop(m), *fn = pop(m);
	if (!args || !fn || args->type != V_TUPLE || fn->type != V_GLOBAL)
		return FAIL("REDUCE without a callable and an argument tuple");
	if (is_global(fn, "torch._utils _rebuild_tensor_v2"))
		return rebuild_tensor(m, args);
	if (is_global(fn, "torch._utils _rebuild_parameter")) {
		if (args->n < 1 || args->items[0]->type != V_TENSOR)
			return FAIL("_rebuild_parameter: bad arguments");
		return push(m, args->items[0]);
	}
	if (is_global(fn, "collections OrderedDict")) {
		if (args->n != 0)
			return FAIL("OrderedDict with arguments");
		return push(m, new_val(m, V_DICT));
	}
	/* anything else (a version tag, a hook, an older rebuild function):
	 * an opaque value, never called */
	val *o = new_val(m, V_OBJECT);
	if (o && !(o->s = strdup(fn->s)))
		o = NULL;
	return push(m, o);
}

static ts_status read_string(vm *m, size_t n, int type)
{
	if (n > MAX_STRING)
		return fail(m->err, TS_ERR_LIMIT, "pickle string of %zu bytes", n);
	if (!need(m, n))
		return FAIL("truncated in a string");
	val *v = new_val(m, type);
	if (!v || !(v->s = malloc(n + 1)))
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	memcpy(v->s, m->buf + m->pos, n);
	v->s[n] = 0;
	v->slen = n;
	m->pos += n;
	return push(m, v);
}

static ts_status memo_put(vm *m, size_t idx)
{
	val *t = top(m);
	if (!t)
		return FAIL("memo store with an empty stack");
	if (idx >= MAX_MEMO)
		return fail(m->err, TS_ERR_LIMIT, "memo index %zu", idx);
	size_t old = m->capmemo;
	if (!grow(&m->memo, &m->capmemo, idx + 1, sizeof *m->memo))
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	for (size_t i = old; i < m->capmemo; i++)
		m->memo[i] = NULL;
	if (!m->memo[idx])
		m->memo_count++;
	m->memo[idx] = t;
	return TS_OK;
}

static ts_status memo_get(vm *m, size_t idx)
{
	if (idx >= m->capmemo || !m->memo[idx])
		return FAIL("memo index %zu never stored", idx);
	return push(m, m->memo[idx]);
}

/* Runs one pickle from m->pos to its STOP; *result is the value left. */
static ts_status run(vm *m, val **result)
{
	m->sp = 0;
	m->nmarks = 0;
	m->memo_count = 0;
	for (size_t i = 0; i < m->capmemo; i++)
		m->memo[i] = NULL;
	for (;;) {
		if (!need(m, 1))
			return FAIL("truncated: pickle without STOP");
		size_t at = m->pos;
		int op = m->buf[m->pos++];
		ts_status st = TS_OK;
		size_t first, n;
		val *v, *c;
		switch (op) {
		case 0x80: /* PROTO */
			if (!need(m, 1) || m->buf[m->pos] > 5)
				return FAIL("bad pickle protocol");
			m->pos++;
			break;
		case 0x95: /* FRAME: a length hint only */
			if (!need(m, 8) || rd64(m->buf + m->pos) > m->len - m->pos - 8)
				return FAIL("bad FRAME");
			m->pos += 8;
			break;
		case '.': /* STOP */
			if (!(*result = pop(m)) || m->sp != 0 || m->nmarks != 0)
				return FAIL("STOP with %zu values on the stack", m->sp);
			return TS_OK;
		case '(': /* MARK */
			if (m->nmarks >= MAX_STACK || !grow(&m->marks, &m->capmarks, m->nmarks + 1, sizeof *m->marks))
				return fail(m->err, TS_ERR_LIMIT, "too many marks");
			m->marks[m->nmarks++] = m->sp;
			break;
		case '0': /* POP */
			if (!pop(m))
				return FAIL("POP on an empty stack");
			break;
		case 'N':
			st = push(m, new_val(m, V_NONE));
			break;
		case 0x88: /* NEWTRUE */
		case 0x89: /* NEWFALSE */
			v = new_val(m, V_BOOL);
			if (v)
				v->i = op == 0x88;
			st = push(m, v);
			break;
		case 'K': /* BININT1 */
		case 'M': /* BININT2 */
		case 'J': /* BININT */
			n = op == 'K' ? 1 : op == 'M' ? 2 : 4;
			if (!need(m, n))
				return FAIL("truncated in an integer");
			v = new_val(m, V_INT);
			if (v) {
				uint32_t u = op == 'J' ? rd32(m->buf + m->pos)
				             : op == 'M' ? (uint32_t)(m->buf[m->pos] | m->buf[m->pos + 1] << 8)
				                         : m->buf[m->pos];
				v->i = op == 'J' ? (int64_t)(int32_t)u : (int64_t)u;
			}
			m->pos += n;
			st = push(m, v);
			break;
		case 0x8a: /* LONG1: little-endian two's complement */
			if (!need(m, 1))
				return FAIL("truncated in LONG1");
			n = m->buf[m->pos++];
			if (n <= 8) {
				if (!need(m, n))
					return FAIL("truncated in LONG1");
				uint64_t u = 0;
				for (size_t k = 0; k < n; k++)
					u |= (uint64_t)m->buf[m->pos + k] << (8 * k);
				if (n > 0 && n < 8 && (m->buf[m->pos + n - 1] & 0x80))
					u |= ~(uint64_t)0 << (8 * n);
				v = new_val(m, V_INT);
				if (v)
					memcpy(&v->i, &u, sizeof u);
				m->pos += n;
				st = push(m, v);
			} else {
				st = read_string(m, n, V_LONG);
			}
			break;
		case 'G': /* BINFLOAT, big-endian: kept as an opaque number */
			if (!need(m, 8))
				return FAIL("truncated in BINFLOAT");
			m->pos += 8;
			st = push(m, new_val(m, V_FLOAT));
			break;
		case 'X': /* BINUNICODE */
			if (!need(m, 4))
				return FAIL("truncated in BINUNICODE");
			n = rd32(m->buf + m->pos);
			m->pos += 4;
			st = read_string(m, n, V_STR);
			break;
		case 0x8c: /* SHORT_BINUNICODE */
			if (!need(m, 1))
				return FAIL("truncated in SHORT_BINUNICODE");
			n = m->buf[m->pos++];
			st = read_string(m, n, V_STR);
			break;
		case ')': /* EMPTY_TUPLE */
			st = make_tuple(m, NULL, 0);
			break;
		case 0x85: /* TUPLE1 */
		case 0x86: /* TUPLE2 */
		case 0x87: /* TUPLE3 */
			n = (size_t)(op - 0x84);
			{
				size_t floor = m->nmarks ? m->marks[m->nmarks - 1] : 0;
				if (m->sp - floor < n)
					return FAIL("TUPLE%zu with too few values", n);
				m->sp -= n;
				st = make_tuple(m, m->stack + m->sp, n);
			}
			break;
		case 't': /* TUPLE */
			if (!pop_mark(m, &first) || first > m->sp)
				return FAIL("TUPLE without a mark");
			n = m->sp - first;
			m->sp = first;
			st = make_tuple(m, m->stack + first, n);
			break;
		case ']': /* EMPTY_LIST */
			st = push(m, new_val(m, V_LIST));
			break;
		case '}': /* EMPTY_DICT */
			st = push(m, new_val(m, V_DICT));
			break;
		case 'a': /* APPEND */
			v = pop(m);
			c = top(m);
			if (!v || !c || c->type != V_LIST)
				return FAIL("APPEND to a non-list");
			if (!add_item(c, v))
				return fail(m->err, TS_ERR_NOMEM, "out of memory");
			break;
		case 'e': /* APPENDS */
			if (!pop_mark(m, &first) || first > m->sp || first == 0 ||
			    m->stack[first - 1]->type != V_LIST)
				return FAIL("APPENDS without a mark after a list");
			c = m->stack[first - 1];
			for (size_t k = first; k < m->sp; k++)
				if (!add_item(c, m->stack[k]))
					return fail(m->err, TS_ERR_NOMEM, "out of memory");
			m->sp = first;
			break;
		case 's': /* SETITEM */
			v = pop(m);
			{
				val *k = pop(m);
				c = top(m);
				if (!v || !k || !c || c->type != V_DICT)
					return FAIL("SETITEM on a non-dict");
				if (!add_item(c, k) || !add_item(c, v))
					return fail(m->err, TS_ERR_NOMEM, "out of memory");
			}
			break;
		case 'u': /* SETITEMS */
			if (!pop_mark(m, &first) || first > m->sp || first == 0 ||
			    m->stack[first - 1]->type != V_DICT || (m->sp - first) % 2)
				return FAIL("SETITEMS without a mark after a dict");
			c = m->stack[first - 1];
			for (size_t k = first; k < m->sp; k++)
				if (!add_item(c, m->stack[k]))
					return fail(m->err, TS_ERR_NOMEM, "out of memory");
			m->sp = first;
			break;
		case 'q': /* BINPUT */
			if (!need(m, 1))
				return FAIL("truncated in BINPUT");
			st = memo_put(m, m->buf[m->pos++]);
			break;
		case 'r': /* LONG_BINPUT */
			if (!need(m, 4))
				return FAIL("truncated in LONG_BINPUT");
			st = memo_put(m, rd32(m->buf + m->pos));
			m->pos += 4;
			break;
		case 0x94: /* MEMOIZE */
			st = memo_put(m, m->memo_count);
			break;
		case 'h': /* BINGET */
			if (!need(m, 1))
				return FAIL("truncated in BINGET");
			st = memo_get(m, m->buf[m->pos++]);
			break;
		case 'j': /* LONG_BINGET */
			if (!need(m, 4))
				return FAIL("truncated in LONG_BINGET");
			st = memo_get(m, rd32(m->buf + m->pos));
			m->pos += 4;
			break;
		case 'c': { /* GLOBAL "module\nname\n" -> "module name" */
			const unsigned char *p = m->buf + m->pos, *end = m->buf + m->len;
			const unsigned char *nl1 = memchr(p, '\n', (size_t)(end - p) < 256 ? (size_t)(end - p) : 256);
			const unsigned char *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(end - nl1 - 1) < 256 ? (size_t)(end - nl1 - 1) : 256) : NULL;
			if (!nl2)
				return FAIL("bad GLOBAL");
			v = new_val(m, V_GLOBAL);
			if (!v || !(v->s = malloc((size_t)(nl2 - p) + 1)))
				return fail(m->err, TS_ERR_NOMEM, "out of memory");
			memcpy(v->s, p, (size_t)(nl2 - p));
			v->s[nl1 - p] = ' ';
			v->s[nl2 - p] = 0;
			v->slen = (size_t)(nl2 - p);
			if (memchr(v->s, 0, v->slen))
				return FAIL("bad GLOBAL");
			m->pos += (size_t)(nl2 - p) + 1;
			st = push(m, v);
			break;
		}
		case 'R': /* REDUCE */
			st = reduce(m);
			break;
		case 'b': /* BUILD: the state (OrderedDict's _metadata) is not needed */
			if (!pop(m) || !top(m))
				return FAIL("BUILD with too few values");
			break;
		case 'Q': /* BINPERSID */
			v = pop(m);
			if (!v)
				return FAIL("BINPERSID on an empty stack");
			st = persistent_load(m, v);
			break;
		default:
			return fail(m->err, TS_ERR_VERSION, "unsupported pickle opcode 0x%02x at byte %zu",
			            op, at);
		}
		if (st != TS_OK)
			return st;
	}
}

static int long_equals(const val *v, const unsigned char *bytes, size_t n)
{
	return v->type == V_LONG && v->slen == n && !memcmp(v->s, bytes, n);
}

/* The value of key in a DICT, or NULL. */
static val *dict_get(const val *d, const char *key)
{
	for (size_t k = 0; k + 1 < d->n; k += 2)
		if (d->items[k]->type == V_STR && !strcmp(d->items[k]->s, key))
			return d->items[k + 1];
	return NULL;
}

/* Copies tensor t (float32 storage) into C order. */
static ts_status copy_tensor(vm *m, const char *name, const val *t, tg_pt_tensor *out)
{
	const val *s = t->storage;
	uint64_t count = 1, last = t->offset;
	for (int k = 0; k < t->ndim; k++) {
		if (__builtin_mul_overflow(count, t->shape[k], &count) || count > ((uint64_t)1 << 40))
			return fail(m->err, TS_ERR_LIMIT, "tensor '%s' too large", name);
	}
	if (count > 0) {
		for (int k = 0; k < t->ndim; k++) {
			uint64_t span;
			if (__builtin_mul_overflow(t->shape[k] - 1, t->stride[k], &span) ||
			    __builtin_add_overflow(last, span, &last))
				return FAIL("tensor '%s': strides overflow", name);
		}
		if (last >= s->numel)
			return FAIL("tensor '%s' reaches element %llu of a %llu-element storage", name,
			            (unsigned long long)last, (unsigned long long)s->numel);
	}
	out->ndim = t->ndim;
	memcpy(out->shape, t->shape, sizeof out->shape);
	out->count = count;
	snprintf(out->storage_type, sizeof out->storage_type, "%s", s->stype);
	if (strcmp(s->stype, "FloatStorage") != 0)
		return TS_OK;   /* the caller decides about other types */
	out->data = malloc(count ? count * sizeof *out->data : 1);
	if (!out->data)
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	uint64_t idx[TG_PT_MAX_DIMS] = {0};
	for (uint64_t i = 0; i < count; i++) {
		uint64_t src = t->offset;
		for (int k = 0; k < t->ndim; k++)
			src += idx[k] * t->stride[k];
		uint32_t bits = rd32(s->bytes + src * 4);
		memcpy(&out->data[i], &bits, 4);
		for (int k = t->ndim - 1; k >= 0; k--) {   /* odometer, last axis fastest */
			if (++idx[k] < t->shape[k])
				break;
			idx[k] = 0;
		}
	}
	return TS_OK;
}

void tg_pt_free(tg_pt_state *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->t[i].name);
		free(s->t[i].data);
	}
	free(s->t);
	s->t = NULL;
	s->n = 0;
}

const tg_pt_tensor *tg_pt_find(const tg_pt_state *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->t[i].name, name))
			return &s->t[i];
	return NULL;
}

static ts_status load(vm *m, int flags, tg_pt_state *out)
{
	static const unsigned char magic[10] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
	if (m->len >= 4 && !memcmp(m->buf, "PK\x03\x04", 4))
		return fail(m->err, TS_ERR_VERSION,
		            "a zip-format checkpoint (torch.save's default since PyTorch 1.6, or TorchScript): "
		            "re-save it with torch.save(obj, f, _use_new_zipfile_serialization=False)");
	if (m->len < 2 || m->buf[0] != 0x80)
		return fail(m->err, TS_ERR_VERSION, "not a PyTorch legacy checkpoint (no pickle)");
	val *v, *obj, *keys;
	ts_status st = run(m, &v);
	if (st != TS_OK)
		return st;
	if (!long_equals(v, magic, sizeof magic))
		return fail(m->err, TS_ERR_VERSION, "not a PyTorch legacy checkpoint (magic number)");
	if ((st = run(m, &v)) != TS_OK)
		return st;
	if (v->type != V_INT || v->i != 1001)
		return fail(m->err, TS_ERR_VERSION, "PyTorch serialization protocol %lld, not 1001",
		            (long long)(v->type == V_INT ? v->i : -1));
	if ((st = run(m, &v)) != TS_OK)
		return st;
	val *le = v->type == V_DICT ? dict_get(v, "little_endian") : NULL;
	if (!le || le->type != V_BOOL || !le->i)
		return fail(m->err, TS_ERR_VERSION, "not a little-endian checkpoint");
	if ((st = run(m, &obj)) != TS_OK)
		return st;
	if ((st = run(m, &keys)) != TS_OK)
		return st;
	if (keys->type != V_LIST)
		return FAIL("storage key list missing");
	for (size_t k = 0; k < keys->n; k++) {
		val *key = keys->items[k], *s = NULL;
		if (key->type != V_STR)
			return FAIL("storage key list holds a non-string");
		for (size_t i = 0; i < m->nstor && !s; i++)
			if (!strcmp(m->storages[i]->s, key->s))
				s = m->storages[i];
		if (!s)
			return FAIL("storage '%s' listed but never used", key->s);
		if (s->bytes)
			return FAIL("storage '%s' listed twice", key->s);
		if (!need(m, 8))
			return FAIL("truncated before storage '%s'", key->s);
		uint64_t numel = rd64(m->buf + m->pos);
		m->pos += 8;
		if (numel != s->numel)
			return FAIL("storage '%s': %llu elements, %llu announced", key->s,
			            (unsigned long long)numel, (unsigned long long)s->numel);
		if (numel > (m->len - m->pos) / s->elsize)
			return FAIL("truncated in storage '%s'", key->s);
		s->bytes = m->buf + m->pos;
		m->pos += numel * s->elsize;
	}
	if (m->pos != m->len)
		return FAIL("%zu bytes after the last storage", m->len - m->pos);
	if (obj->type != V_DICT)
		return fail(m->err, TS_ERR_VERSION, "the saved object is not a state_dict (dict)");
	size_t n = obj->n / 2;
	out->t = calloc(n ? n : 1, sizeof *out->t);
	if (!out->t)
		return fail(m->err, TS_ERR_NOMEM, "out of memory");
	for (size_t k = 0; k < n; k++) {
		val *name = obj->items[2 * k], *t = obj->items[2 * k + 1];
		if (name->type != V_STR || strlen(name->s) != name->slen)
			return FAIL("state_dict key %zu is not a string", k);
		if (t->type != V_TENSOR)
			return fail(m->err, TS_ERR_VERSION, "state_dict entry '%s' is not a tensor", name->s);
		if (!t->storage->bytes)
			return FAIL("tensor '%s': its storage has no data", name->s);
		tg_pt_tensor *o = &out->t[out->n++];
		if (!(o->name = strdup(name->s)))
			return fail(m->err, TS_ERR_NOMEM, "out of memory");
		if ((st = copy_tensor(m, name->s, t, o)) != TS_OK)
			return st;
		if (!o->data && !(flags & TG_PT_SKIP_NONFLOAT))
			return fail(m->err, TS_ERR_VERSION,
			            "tensor '%s' has a %s: only float32 (FloatStorage) tensors are supported",
			            name->s, o->storage_type);
	}
	return TS_OK;
}

ts_status tg_pt_load(const unsigned char *buf, size_t len, int flags, tg_pt_state *out, char *err)
{
	vm m = {.buf = buf, .len = len, .err = err};
	out->n = 0;
	out->t = NULL;
	ts_status st = load(&m, flags, out);
	free_vm(&m);
	if (st != TS_OK)
		tg_pt_free(out);
	return st;
}

ts_status tg_pt_load_file(const char *path, int flags, tg_pt_state *out, char *err)
{
	out->n = 0;
	out->t = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(err, TS_ERR_IO, "%s", strerror(errno));
	size_t cap = 1 << 16, n = 0;
	unsigned char *b = malloc(cap);
	while (b) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		unsigned char *nb = cap < ((size_t)1 << 34) ? realloc(b, cap * 2) : NULL;
		if (!nb)
			free(b);
		b = nb;
		cap *= 2;
	}
	int bad = ferror(f), e = errno;
	fclose(f);
	if (!b)
		return fail(err, TS_ERR_NOMEM, "out of memory reading the file");
	if (bad) {
		free(b);
		return fail(err, TS_ERR_IO, "%s", strerror(e));
	}
	ts_status st = tg_pt_load(b, n, flags, out, err);
	free(b);
	return st;
}
