# sweep.mk: the hyperparameter sweep of seed 001 (GAN, WGAN and DCGAN on CT
# slices, one factor at a time) as independent make targets.
#
#   make -f pipelines/sweep.mk DATA=train256.tns OUT=sweep -j4
#
# For each model (gan, wgan, dcgan) seven configurations are trained, as in
# the thesis's experimental design: the default, half and double the
# learning rate, latent dimension 50 and 200, and the two batch sizes the
# model was tried with (32 and 128 for gan and wgan; 16 and 32 for dcgan,
# whose 128 did not fit the thesis's GPU).  Each configuration has its own
# directory OUT/NAME with
#   generator.ckpt  the trained model (train.ckpt: the run in progress)
#   losses.csv      the loss log of ganrun train --log
#   grid.png        16 samples in a 4x4 grid
#   fid.json        FID mean and standard deviation over REPEAT draws of N
#                   generated frames against the real set (fidstat --repeat)
# and OUT/sweep.md is the table of all of them (model, configuration, FID
# mean +- std, grid link), next to OUT/real.png, 16 real frames.
#
# Targets:
#   all (default)   every configuration, then OUT/sweep.md
#   NAME            one configuration (checkpoint, grid, FID), e.g. gan-lr-half
#   list            the configuration names, one a line (for job arrays:
#                   one `make NAME` per job, then `make table`)
#   table           OUT/sweep.md from what exists (builds what is missing)
#
# Variables:
#   DATA            the training stream, frames in [0, 1] with a range
#                   (e.g. imread | clipnorm | resize 256); also the real set
#                   of the FID.  Required.
#   SIZE            if set, DATA is first resized to SIZE x SIZE (OUT/train.tns)
#   EPOCHS          epochs per configuration, default 200 (the thesis's)
#   TIME            optional time budget per configuration and run (ganrun's
#                   --time: 90m, 4h); training stops at EPOCHS or TIME
#   N               generated frames per FID draw, default 3000 (the thesis's)
#   REPEAT          FID draws, default 3; REPEAT x N frames are generated
#   SEED            training seed, default 0; SAMPLE_SEED seed of the samples
#   OUT             output directory, default sweep
#   BIN             directory of the tomogan programs, default this tree's bin
#   FIDSTAT_FLAGS   extra fidstat options: --weights FILE, --dims, --batch,
#                   --test-weights (tests only: not comparable numbers)
#   TRAIN_FLAGS     extra ganrun train options
#   CONFIGS         the configurations to run, default all 21 (see list)
#
# FID needs pytorch-fid's Inception weights (fidstat(1)), named by
# TOMOGAN_FID_WEIGHTS or --weights in FIDSTAT_FLAGS.  Without them the
# FID targets are left out and the table says how to get the weights.
#
# Interrupted training continues where it stopped: ganrun writes
# OUT/NAME/train.ckpt on SIGINT or SIGTERM and every CKPT_EVERY epochs, and
# the next make resumes it (a run found short of EPOCHS fails with status
# 75 and a message until it is complete).  A finished configuration is not
# retrained when EPOCHS, TIME or DATA's settings change: use another OUT.
#
# On a cluster, one configuration per job of an array, then the table
# (Slurm shown; each job needs the same DATA and OUT):
#
#   n=$(make -s -f pipelines/sweep.mk list | wc -l)
#   sbatch --array=1-$n --wrap 'make -f pipelines/sweep.mk DATA=t.tns OUT=sw \
#       $(make -s -f pipelines/sweep.mk list | sed -n "${SLURM_ARRAY_TASK_ID}p")'
#   make -f pipelines/sweep.mk DATA=t.tns OUT=sw table

SWEEP_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))

DATA ?=
SIZE ?=
EPOCHS ?= 200
TIME ?=
N ?= 3000
REPEAT ?= 3
SEED ?= 0
SAMPLE_SEED ?= 1
OUT ?= sweep
BIN ?= $(SWEEP_DIR)/../bin
FIDSTAT_FLAGS ?=
TRAIN_FLAGS ?=
CKPT_EVERY ?= 10

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -ec
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

# ---- the configurations --------------------------------------------------
# $(call config,NAME,MODEL,LR,LATENT,BATCH,LABEL)
define config
ALL_CONFIGS += $(1)
model.$(1) := $(2)
lr.$(1) := $(3)
latent.$(1) := $(4)
batch.$(1) := $(5)
label.$(1) := $(6)
endef

# model, default lr, half, double, the two batch sizes tried
sweep.gan := 0.0002 0.0001 0.0004 32 128
sweep.wgan := 0.00005 0.000025 0.0001 32 128
sweep.dcgan := 0.0002 0.0001 0.0004 16 32

define model_configs
$(eval s := $(sweep.$(1)))
$(eval $(call config,$(1)-default,$(1),$(word 1,$(s)),100,64,Default))
$(eval $(call config,$(1)-lr-half,$(1),$(word 2,$(s)),100,64,lr = $(word 2,$(s))))
$(eval $(call config,$(1)-lr-double,$(1),$(word 3,$(s)),100,64,lr = $(word 3,$(s))))
$(eval $(call config,$(1)-latent50,$(1),$(word 1,$(s)),50,64,ldim = 50))
$(eval $(call config,$(1)-latent200,$(1),$(word 1,$(s)),200,64,ldim = 200))
$(eval $(call config,$(1)-batch$(word 4,$(s)),$(1),$(word 1,$(s)),100,$(word 4,$(s)),bsize = $(word 4,$(s))))
$(eval $(call config,$(1)-batch$(word 5,$(s)),$(1),$(word 1,$(s)),100,$(word 5,$(s)),bsize = $(word 5,$(s))))
endef

ALL_CONFIGS :=
$(foreach m,gan wgan dcgan,$(eval $(call model_configs,$(m))))
CONFIGS ?= $(ALL_CONFIGS)

unknown := $(filter-out $(ALL_CONFIGS),$(CONFIGS))
ifneq ($(unknown),)
$(error unknown configuration(s): $(unknown); `make -f $(lastword $(MAKEFILE_LIST)) list` names them)
endif

ifeq ($(DATA),)
ifneq ($(filter-out list,$(or $(MAKECMDGOALS),all)),)
$(error DATA is not set: give the training stream, DATA=train.tns)
endif
endif

# ---- FID weights ---------------------------------------------------------
HAVE_WEIGHTS := $(if $(TOMOGAN_FID_WEIGHTS)$(filter --weights% --test-weights,$(FIDSTAT_FLAGS)),yes)

# ---- training set ----------------------------------------------------------
ifneq ($(SIZE),)
TRAIN := $(OUT)/train.tns
$(TRAIN): $(DATA) | $(OUT)
	t=$(OUT)/train.$$$$.tns; $(BIN)/resize -q -o $$t $(SIZE) $(DATA) && mv -f $$t $@
else
TRAIN := $(DATA)
endif

REAL_STATS := $(OUT)/real-stats.tns
GRIDS := $(foreach c,$(CONFIGS),$(OUT)/$(c)/grid.png)
FIDS := $(if $(HAVE_WEIGHTS),$(foreach c,$(CONFIGS),$(OUT)/$(c)/fid.json))

.PHONY: all table list $(ALL_CONFIGS)
all: $(OUT)/sweep.md
table: $(OUT)/sweep.md

list:
	@printf '%s\n' $(CONFIGS)

$(OUT):
	mkdir -p $@

# $(call config_rules,NAME)
define config_rules
$(1): $(OUT)/$(1)/generator.ckpt $(OUT)/$(1)/grid.png $(if $(HAVE_WEIGHTS),$(OUT)/$(1)/fid.json)

$(OUT)/$(1)/generator.ckpt: $(TRAIN)
	mkdir -p $(OUT)/$(1)
	if [ -f $(OUT)/$(1)/train.ckpt ]; then \
		$(BIN)/ganrun train -q --resume $(OUT)/$(1)/train.ckpt --epochs $(EPOCHS) \
			$(if $(TIME),--time $(TIME)) --checkpoint-every $(CKPT_EVERY) \
			--log $(OUT)/$(1)/losses.csv -o $(OUT)/$(1)/train.ckpt $(TRAIN); \
	else \
		$(BIN)/ganrun train -q --model $(model.$(1)) --lr $(lr.$(1)) --latent $(latent.$(1)) \
			--batch $(batch.$(1)) --seed $(SEED) --epochs $(EPOCHS) $(if $(TIME),--time $(TIME)) \
			--checkpoint-every $(CKPT_EVERY) $(TRAIN_FLAGS) \
			--log $(OUT)/$(1)/losses.csv -o $(OUT)/$(1)/train.ckpt $(TRAIN); \
	fi
	$(if $(TIME),,e=$$$$($(BIN)/ganrun info $(OUT)/$(1)/train.ckpt | sed -n 's/^epochs: *//p'); \
	if [ "$$$${e:-0}" -lt $(EPOCHS) ]; then \
		echo "sweep.mk: $(1): training stopped at epoch $$$${e:-0} of $(EPOCHS); run make again to continue" >&2; \
		exit 75; \
	fi)
	cp -f $(OUT)/$(1)/train.ckpt $$@.part
	mv -f $$@.part $$@

$(OUT)/$(1)/grid.png: $(OUT)/$(1)/generator.ckpt
	$(BIN)/ganrun sample -q -n 16 --seed $(SAMPLE_SEED) $$< | \
		$(BIN)/imwrite -q --grid $$@.part.png --rows 4 --cols 4
	mv -f $$@.part.png $$@

$(OUT)/$(1)/fid.json: $(OUT)/$(1)/generator.ckpt $(REAL_STATS)
	$(BIN)/ganrun sample -q -n $$$$(($(REPEAT) * $(N))) --seed $(SAMPLE_SEED) $$< | \
		$(BIN)/fidstat -q --json $(FIDSTAT_FLAGS) --repeat $(REPEAT) -n $(N) - $(REAL_STATS) >$$@.part
	mv -f $$@.part $$@
endef

$(foreach c,$(ALL_CONFIGS),$(eval $(call config_rules,$(c))))

# shared files (train.tns, real-stats.tns, real.png) are written under
# temporary names with the shell's pid, so that concurrent jobs of a job
# array do not clash.
# statistics of the real set, computed once for every configuration
$(REAL_STATS): $(TRAIN) | $(OUT)
	t=$(OUT)/real-stats.$$$$.tns; \
	$(BIN)/fidstat -q $(FIDSTAT_FLAGS) --save-stats $$t $(TRAIN) && mv -f $$t $@

$(OUT)/real.png: $(TRAIN) | $(OUT)
	t=$(OUT)/real.$$$$.png; $(BIN)/imwrite -q --grid $$t --rows 4 --cols 4 $(TRAIN) && mv -f $$t $@

# one line per configuration: name, model, label (tab-separated)
$(OUT)/sweep.md: $(GRIDS) $(FIDS) $(OUT)/real.png $(SWEEP_DIR)/sweep-table.sh
	{ $(foreach c,$(CONFIGS),printf '%s\t%s\t%s\n' '$(c)' '$(model.$(c))' '$(label.$(c))';) } | \
	sh $(SWEEP_DIR)/sweep-table.sh -d $(OUT) -w '$(if $(HAVE_WEIGHTS),yes,no)' \
		-e '$(EPOCHS)' -t '$(TIME)' -n '$(N)' -r '$(REPEAT)' \
		-f '$(strip $(FIDSTAT_FLAGS))' >$@.part
	mv -f $@.part $@
