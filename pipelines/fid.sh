#!/bin/sh
# fid.sh: runs fidstat for thesis.mk and keeps its line in a file.
#
#   sh pipelines/fid.sh FIDSTAT OUT.txt [fidstat arguments...]
#
# On success OUT.txt holds fidstat's output line ("fid X dims D frames A B").
# When fidstat has no Inception weights (exit 66 with its "no Inception
# weights" message) OUT.txt holds "noweights" and the message, so that the
# report can say how to get them; any other failure is a failure.
set -u
if [ $# -lt 3 ]; then
	echo "usage: fid.sh FIDSTAT OUT.txt ARGS..." >&2
	exit 64
fi
fidstat=$1 out=$2
shift 2
"$fidstat" "$@" > "$out.tmp" 2> "$out.err"
rc=$?
if [ "$rc" -eq 0 ]; then
	mv "$out.tmp" "$out"
	rm -f "$out.err"
	exit 0
fi
if [ "$rc" -eq 66 ] && grep -q 'no Inception weights' "$out.err"; then
	{ echo "noweights"; cat "$out.err"; } > "$out"
	rm -f "$out.tmp" "$out.err"
	exit 0
fi
cat "$out.err" >&2
rm -f "$out.tmp" "$out.err"
exit "$rc"
