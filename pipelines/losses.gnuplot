# losses.gnuplot: the loss log of `ganrun train --log` as a PNG.
#
#   gnuplot -e "in='losses.csv'; out='losses.png'" pipelines/losses.gnuplot
#
# Columns of the log (ganrun(1)): epoch, g_step, seconds, d_loss, g_loss,
# gp, wdist, one row per generator step after a header line.  Top: critic
# and generator loss against the generator step; bottom: the Wasserstein
# estimate and the gradient penalty.  Optional: title='...'; smooth=1 adds
# a smoothed curve (gnuplot's "smooth bezier") over each series.
if (!exists("in")) in = 'losses.csv'
if (!exists("out")) out = 'losses.png'
if (!exists("title")) title = in
if (!exists("smooth")) smooth = 0

set datafile separator ','
set terminal pngcairo size 1000,800 noenhanced font ',10'
set output out
set multiplot layout 2,1 title title
set grid
set key top right
set xlabel 'generator step'

set ylabel 'loss'
if (smooth) {
	plot in every ::1 using 2:4 with lines lc rgb '#a0b0e0' title 'critic', \
	     in every ::1 using 2:4 smooth bezier lw 2 lc rgb '#2040a0' title 'critic (smoothed)', \
	     in every ::1 using 2:5 with lines lc rgb '#f0b0a0' title 'generator', \
	     in every ::1 using 2:5 smooth bezier lw 2 lc rgb '#c03010' title 'generator (smoothed)'
} else {
	plot in every ::1 using 2:4 with lines lw 1.5 lc rgb '#2040a0' title 'critic', \
	     in every ::1 using 2:5 with lines lw 1.5 lc rgb '#c03010' title 'generator'
}

set ylabel 'value'
plot in every ::1 using 2:7 with lines lw 1.5 lc rgb '#208020' title 'Wasserstein estimate', \
     in every ::1 using 2:6 with lines lw 1.5 lc rgb '#806020' title 'gradient penalty'
unset multiplot
