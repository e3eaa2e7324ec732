# thesis.mk: the experiment of the seed 000 thesis, end to end, as a chain of
# make targets: each stage's output file is the next stage's input, so an
# interrupted run continues where it stopped and `make -j2` trains the two
# GANs (and runs the other independent branches) at once.
#
#   make -f pipelines/thesis.mk INPUT=slices/ OUT=run1 TIME=4h N=1000
#
# Stages (files under OUT):
#   real.tns          the input as one stream, the first DROP frames dropped
#   bounds.txt        clipnorm statistics of real.tns (one normalisation)
#   real64.tns        real.tns resized to SIZE_LO and mapped with bounds.txt
#   real256.tns       the same at SIZE_HI
#   g64.ckpt g256.ckpt  WGAN-GP at each size, equal budgets (TIME, EPOCHS)
#   fake64.tns fake256.tns  N samples of each generator
#   bicubic256.tns    fake64 upscaled to SIZE_HI with bicubic
#   sr.ckpt           SRCNN trained on real pairs: bicubic-up real64 -> real256
#                     (all frames but the last HOLDOUT)
#   srcnn256.tns      SRCNN applied to bicubic256
#   psnr-*.txt        PSNR/SSIM of the HOLDOUT real frames: bicubic-up real64
#                     and its SRCNN output against real256
#   fid-*.txt         FID: real-vs-real halves, bicubic, SRCNN, high resolution
#   grid-*.png losses*.png  sample grids and loss curves
#   report.md         the report (pipelines/report.sh)
#
# The file names say 64 and 256 whatever SIZE_LO and SIZE_HI are.
# FID needs the Inception weights (TOMOGAN_FID_WEIGHTS, or --weights in
# FIDSTAT_FLAGS); without them the FID files say so and the report explains
# how to get them.  Delete OUT/fid-*.txt, or change the weights, to redo them.

# INPUT: a folder of PNG or TIFF slices (read in name order), a tensor
# stream (.tns) or an HDF5 file (FILE.h5 or FILE.h5:DATASET, via h5slice).
INPUT ?=
OUT ?= thesis-out
# The programs; by default those of this checkout.
BIN ?= $(abspath $(dir $(lastword $(MAKEFILE_LIST)))../bin)
PIPELINES := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
DROP ?= 0
SIZE_LO ?= 64
SIZE_HI ?= 256
# Budget of each GAN: ganrun --time (TIME) and/or --epochs (EPOCHS).
TIME ?= 1h
EPOCHS ?=
N ?= 64
SEED ?= 0
# Extra ganrun train options for both models, and for each size.
GAN_FLAGS ?=
GAN_FLAGS_LO ?=
GAN_FLAGS_HI ?=
# SRCNN budget (srcnn train --time) and extra options.
SRCNN_TIME ?= 10m
SRCNN_FLAGS ?=
# Real frames held out from SRCNN training for the PSNR/SSIM table.
HOLDOUT ?= 8
# Extra fidstat options: --weights FILE, --test-weights (tests), --dims.
FIDSTAT_FLAGS ?=
GRID_ROWS ?= 4
GRID_COLS ?= 4
GNUPLOT ?= gnuplot

SCALE = $(shell expr $(SIZE_HI) / $(SIZE_LO))
BUDGET = $(if $(TIME),--time $(TIME)) $(if $(EPOCHS),--epochs $(EPOCHS))
Q = -q
O := $(OUT)

STREAMS = real.tns real64.tns real256.tns fake64.tns fake256.tns \
	bicubic256.tns srcnn256.tns
FILES = $(addprefix $(O)/,$(STREAMS) bounds.txt g64.ckpt g256.ckpt sr.ckpt \
	psnr-bicubic.txt psnr-srcnn.txt fid-real.txt fid-bicubic.txt \
	fid-srcnn.txt fid-hires.txt grid-real256.png grid-real64.png \
	grid-fake64.png grid-fake256.png grid-bicubic256.png grid-srcnn256.png \
	losses64.png losses256.png report.md)

.PHONY: all clean-fid

ifeq ($(INPUT),)
$(error INPUT is not set (a folder of slices, a .tns or an .h5))
endif
ifneq ($(shell expr $(SIZE_HI) % $(SIZE_LO)),0)
$(error SIZE_HI ($(SIZE_HI)) is not a multiple of SIZE_LO ($(SIZE_LO)))
endif
.DELETE_ON_ERROR:
.SUFFIXES:

all: $(O)/report.md

$(O)/.dir:
	@mkdir -p $(O)
	@touch $@

# Stage 1: the input as one stream, edge slices dropped.
$(O)/real.tns: $(wildcard $(firstword $(subst :, ,$(INPUT)))) | $(O)/.dir
	@set -e; in='$(INPUT)'; \
	if [ -d "$$in" ]; then \
		ls "$$in" | LC_ALL=C sort | grep -Ei '\.(png|tiff?)$$' | sed "s|^|$$in/|" > $@.list; \
		test -s $@.list || { echo "thesis.mk: no PNG or TIFF files in $$in" >&2; exit 66; }; \
		$(BIN)/imread $(Q) --list $@.list | $(BIN)/tscut -o $@ $(DROP):; \
		rm -f $@.list; \
	else case "$$in" in \
		*.h5|*.h5:*|*.hdf5|*.hdf5:*) $(BIN)/h5slice $(Q) "$$in" | $(BIN)/tscut -o $@ $(DROP): ;; \
		*) $(BIN)/tscut -o $@ $(DROP): "$$in" ;; \
	esac; fi

# Stage 2: one set of clipnorm bounds for both sizes.
$(O)/bounds.txt: $(O)/real.tns
	$(BIN)/clipnorm $(Q) --stats-out $@ $< > /dev/null

# Stage 3: the two training sets.
$(O)/real64.tns: $(O)/real.tns $(O)/bounds.txt
	$(BIN)/resize $(Q) $(SIZE_LO) $< | $(BIN)/clipnorm $(Q) --stats $(O)/bounds.txt -o $@
$(O)/real256.tns: $(O)/real.tns $(O)/bounds.txt
	$(BIN)/resize $(Q) $(SIZE_HI) $< | $(BIN)/clipnorm $(Q) --stats $(O)/bounds.txt -o $@

# Stage 4: the two WGAN-GPs with the same budget.  The loss logs start anew.
$(O)/g64.ckpt: $(O)/real64.tns
	rm -f $(O)/losses64.csv
	$(BIN)/ganrun train $(Q) --model wgan-gp --seed $(SEED) $(BUDGET) $(GAN_FLAGS) $(GAN_FLAGS_LO) \
		--log $(O)/losses64.csv -o $@ $<
$(O)/g256.ckpt: $(O)/real256.tns
	rm -f $(O)/losses256.csv
	$(BIN)/ganrun train $(Q) --model wgan-gp --seed $(SEED) $(BUDGET) $(GAN_FLAGS) $(GAN_FLAGS_HI) \
		--log $(O)/losses256.csv -o $@ $<

# Stage 5: N samples of each.
$(O)/fake64.tns: $(O)/g64.ckpt
	$(BIN)/ganrun sample -q -n $(N) --seed $(SEED) -o $@ $<
$(O)/fake256.tns: $(O)/g256.ckpt
	$(BIN)/ganrun sample -q -n $(N) --seed $(SEED) -o $@ $<

# Stage 6: low-resolution samples upscaled with bicubic.
$(O)/bicubic256.tns: $(O)/fake64.tns
	$(BIN)/resize $(Q) --clamp -o $@ $(SIZE_HI) $<

# Stage 7: SRCNN on real pairs.  The last HOLDOUT frames are kept for the
# PSNR/SSIM table; the network inputs are the bicubic-upscaled real64.
$(O)/realup256.tns: $(O)/real64.tns
	$(BIN)/resize $(Q) --clamp -o $@ $(SIZE_HI) $<
$(O)/sr-train-hr.tns: $(O)/real256.tns
	$(BIN)/tscut -o $@ -- :-$(HOLDOUT) $<
$(O)/sr-train-lr.tns: $(O)/realup256.tns
	$(BIN)/tscut -o $@ -- :-$(HOLDOUT) $<
$(O)/sr-test-hr.tns: $(O)/real256.tns
	$(BIN)/tscut -o $@ -- -$(HOLDOUT): $<
$(O)/sr-test-bicubic.tns: $(O)/realup256.tns
	$(BIN)/tscut -o $@ -- -$(HOLDOUT): $<
$(O)/sr.ckpt: $(O)/sr-train-hr.tns $(O)/sr-train-lr.tns
	rm -f $(O)/sr.ckpt.last $(O)/srcnn-log.csv
	$(BIN)/srcnn train -q --scale $(SCALE) --seed $(SEED) --time $(SRCNN_TIME) $(SRCNN_FLAGS) \
		--pairs $(O)/sr-train-lr.tns --log $(O)/srcnn-log.csv -o $@ $<
$(O)/sr-test-srcnn.tns: $(O)/sr.ckpt $(O)/sr-test-bicubic.tns
	$(BIN)/srcnn apply -q --clamp -o $@ $^

# Stage 8: SRCNN on the upscaled samples.
$(O)/srcnn256.tns: $(O)/sr.ckpt $(O)/bicubic256.tns
	$(BIN)/srcnn apply -q --clamp -o $@ $^

# Stage 9: metrics.  PSNR/SSIM need no weights (the scale is shaved off the
# borders, as super-resolution papers do).
$(O)/psnr-bicubic.txt: $(O)/sr-test-hr.tns $(O)/sr-test-bicubic.tns
	$(BIN)/imgcmp -q -c $(SCALE) $^ > $@
$(O)/psnr-srcnn.txt: $(O)/sr-test-hr.tns $(O)/sr-test-srcnn.tns
	$(BIN)/imgcmp -q -c $(SCALE) $^ > $@

# The weights in use, kept in fid-weights.txt, which is rewritten (when
# make reads this file) only when they change, so that the FID files are
# redone then and only then.
FID_ID = weights $(FIDSTAT_FLAGS) $(TOMOGAN_FID_WEIGHTS)
ifneq ($(INPUT),)
$(shell mkdir -p '$(O)' && { [ "$$(cat '$(O)/fid-weights.txt' 2>/dev/null)" = '$(FID_ID)' ] || echo '$(FID_ID)' > '$(O)/fid-weights.txt'; })
endif

# fidstat exits 66 when it has no weights: the file then says "no weights"
# and the message, which the report turns into instructions.
FID = sh $(PIPELINES)/fid.sh $(BIN)/fidstat $@ -q $(FIDSTAT_FLAGS)
$(O)/fid-real.txt: $(O)/real256.tns $(O)/fid-weights.txt
	$(FID) --split $(SEED) $<
$(O)/fid-bicubic.txt: $(O)/bicubic256.tns $(O)/real256.tns $(O)/fid-weights.txt
	$(FID) $(wordlist 1,2,$^)
$(O)/fid-srcnn.txt: $(O)/srcnn256.tns $(O)/real256.tns $(O)/fid-weights.txt
	$(FID) $(wordlist 1,2,$^)
$(O)/fid-hires.txt: $(O)/fake256.tns $(O)/real256.tns $(O)/fid-weights.txt
	$(FID) $(wordlist 1,2,$^)

clean-fid:
	rm -f $(O)/fid-*.txt

# Grids of the first GRID_ROWS x GRID_COLS frames.
$(O)/grid-%.png: $(O)/%.tns
	$(BIN)/imwrite -q --rows $(GRID_ROWS) --cols $(GRID_COLS) --grid $@ $<

# Loss curves (the log is written by the training rule).
$(O)/losses%.png: $(O)/g%.ckpt
	$(GNUPLOT) -e "in='$(O)/losses$*.csv'; out='$@'; title='WGAN-GP $*: losses'" \
		$(PIPELINES)/losses.gnuplot

$(O)/report.md: $(filter-out $(O)/report.md,$(FILES)) $(PIPELINES)/report.sh
	sh $(PIPELINES)/report.sh $(O) $(SIZE_LO) $(SIZE_HI) $(BIN) > $@.tmp
	mv $@.tmp $@
