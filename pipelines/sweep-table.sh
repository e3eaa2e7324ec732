#!/bin/sh
# sweep-table.sh: the Markdown report of pipelines/sweep.mk.
#
#   sweep-table.sh -d OUT [-w yes|no] [-e EPOCHS] [-t TIME] [-n N] [-r REPEAT]
#                  [-f FIDSTAT_FLAGS] < configs
#
# Reads one configuration a line, "NAME<tab>MODEL<tab>LABEL", and writes to
# standard output a table with one row each: model, configuration, FID mean
# +- standard deviation (from OUT/NAME/fid.json, written by fidstat --json
# --repeat) and a link to OUT/NAME/grid.png.  With -w no (no FID weights)
# the FID column holds a dash and a note says how to get the weights.
# Exit status 65 when a FID file is missing or holds no numbers while
# weights were given.
set -eu

dir='' weights=no epochs='' time='' n='' repeat='' flags=''
while getopts d:w:e:t:n:r:f: opt; do
	case $opt in
	d) dir=$OPTARG ;;
	w) weights=$OPTARG ;;
	e) epochs=$OPTARG ;;
	t) time=$OPTARG ;;
	n) n=$OPTARG ;;
	r) repeat=$OPTARG ;;
	f) flags=$OPTARG ;;
	*) echo "usage: sweep-table.sh -d OUT [-w yes|no] [-e EPOCHS] [-t TIME] [-n N] [-r REPEAT] [-f FLAGS] < configs" >&2
	   exit 64 ;;
	esac
done
if [ -z "$dir" ]; then
	echo "sweep-table.sh: -d OUT is required" >&2
	exit 64
fi

# num KEY FILE: the number after "KEY": in a one-line JSON object
num() {
	sed -n "s/.*\"$1\": *\([-+0-9.eE]*\).*/\1/p" "$2"
}

echo "# Seed 001 sweep: GAN, WGAN and DCGAN hyperparameters"
echo
train="$epochs epochs"
[ "$epochs" = 1 ] && train="1 epoch"
[ -n "$time" ] && train="$train or $time, whichever comes first"
if [ "$weights" = yes ]; then
	echo "Each configuration trained for $train; FID over $repeat draws of $n generated frames against the real set (mean ± standard deviation)."
else
	echo "Each configuration trained for $train; FID not computed: no Inception weights (see below)."
fi
case " $flags " in
*" --test-weights "*)
	echo
	echo "**FID computed with fidstat's test weights (--test-weights): not a trained network, the numbers are not comparable to published FID.**" ;;
esac
echo
echo "| model | configuration | FID | samples |"
echo "|---|---|---|---|"
status=0
tab=$(printf '\t')
while IFS=$tab read -r name model label; do
	[ -n "$name" ] || continue
	fid=—
	if [ "$weights" = yes ]; then
		f=$dir/$name/fid.json
		m=
		s=
		if [ -f "$f" ]; then
			m=$(num fid "$f")
			s=$(num fid_std "$f")
		fi
		if [ -n "$m" ] && [ -n "$s" ]; then
			fid=$(awk -v m="$m" -v s="$s" 'BEGIN { printf "%.2f ± %.2f", m, s }')
		else
			echo "sweep-table.sh: $f: no FID mean and standard deviation" >&2
			status=65
		fi
	fi
	echo "| $(echo "$model" | tr '[:lower:]' '[:upper:]') | $label | $fid | [grid]($name/grid.png) |"
done
echo
echo "Real frames for comparison: [grid](real.png)."
if [ "$weights" != yes ]; then
	cat <<'EOF'

## FID weights

FID needs the weights of pytorch-fid's Inception network, which are not
shipped: download `pt_inception-2015-12-05-6726825d.pth` from pytorch-fid's
release assets
(https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth),
name it with `TOMOGAN_FID_WEIGHTS=FILE` or `FIDSTAT_FLAGS='--weights FILE'`
and run the sweep's make again: only the FID column is computed then.
EOF
fi
exit $status
