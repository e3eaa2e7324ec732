/* pickle.h: reading a PyTorch state_dict saved in the LEGACY (non-zip)
 * format, torch.save(obj, f, _use_new_zipfile_serialization=False), as
 * PyTorch 1.x writes it:
 *
 *   1. pickle: the magic number 0x1950a86a20f9469cfc6c (a LONG1)
 *   2. pickle: the protocol version, 1001
 *   3. pickle: sys_info {protocol_version, little_endian: True, type_sizes}
 *   4. pickle: the object, here an OrderedDict name -> tensor, each tensor
 *      torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
 *      stride, requires_grad, backward_hooks) (or _rebuild_parameter of
 *      one), each storage a persistent id
 *      ('storage', torch.XStorage, key, location, numel, view_metadata)
 *   5. pickle: the list of storage keys
 *   6. for each key of that list in order: the element count (8 bytes,
 *      little-endian) and the storage's raw little-endian elements.
 *
 * Only the pickle opcodes these files use are implemented (protocol <= 2
 * plus FRAME and MEMOIZE): PROTO, FRAME, STOP, MARK, POP, NONE, NEWTRUE,
 * NEWFALSE, BININT, BININT1, BININT2, LONG1, BINFLOAT, BINUNICODE,
 * SHORT_BINUNICODE, EMPTY_TUPLE, TUPLE, TUPLE1-3, EMPTY_LIST, APPEND,
 * APPENDS, EMPTY_DICT, SETITEM, SETITEMS, BINPUT, LONG_BINPUT, MEMOIZE,
 * BINGET, LONG_BINGET, GLOBAL, REDUCE, BUILD, BINPERSID.  Nothing is ever
 * executed: REDUCE builds tensors for the two rebuild functions, a dict for
 * collections.OrderedDict and an opaque object for anything else.  Every
 * length, index and the stack depth is checked before use.
 *
 * Output: the tensors in the dict's order, each copied into a C-order
 * float32 array whatever its strides and storage offset (views sharing one
 * storage are fine).  Tensors whose storage is not a FloatStorage are
 * refused with a message naming them, or with TG_PT_SKIP_NONFLOAT listed
 * with data NULL (a BatchNorm's int64 num_batches_tracked, for instance).
 * A zip-format file (torch.save's default since PyTorch 1.6, also
 * TorchScript archives) is refused with a message saying how to re-save.
 *
 * Functions return a ts_status (TS_ERR_IO, TS_ERR_CORRUPT for malformed or
 * truncated files, TS_ERR_VERSION for a valid file of another kind,
 * TS_ERR_LIMIT, TS_ERR_NOMEM) and write a one-line reason into err (size
 * TG_PT_ERR_LEN) when not NULL. */
#ifndef TOMOGAN_FID_PICKLE_H
#define TOMOGAN_FID_PICKLE_H

#include <stddef.h>
#include <stdint.h>

#include "tstream.h"

#define TG_PT_MAX_DIMS 8
#define TG_PT_ERR_LEN 256
#define TG_PT_SKIP_NONFLOAT 1

typedef struct {
	char *name;
	char storage_type[32];       /* "FloatStorage", "LongStorage", ... */
	int ndim;                    /* 0 for a scalar */
	uint64_t shape[TG_PT_MAX_DIMS];
	uint64_t count;              /* product of shape (1 for 0-d) */
	float *data;                 /* count values, C order; NULL when skipped */
} tg_pt_tensor;

typedef struct {
	size_t n;
	tg_pt_tensor *t;
} tg_pt_state;

ts_status tg_pt_load(const unsigned char *buf, size_t len, int flags, tg_pt_state *out, char *err);
ts_status tg_pt_load_file(const char *path, int flags, tg_pt_state *out, char *err);
void tg_pt_free(tg_pt_state *s);
/* The tensor called name, or NULL. */
const tg_pt_tensor *tg_pt_find(const tg_pt_state *s, const char *name);

#endif
