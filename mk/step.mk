# mk/step.mk - builds one step (or common/) into one build directory.
#
# Called by the top-level Makefile, never by hand:
#   make -f mk/step.mk STEP=step1_shm SRC=step1_shm/src OUT=build/step1_shm
# STEP names the step directory (its step.mk and tests/), SRC the sources
# to build (the learner's, the reference's, or a teeth variant), OUT where
# binaries go. The step's own step.mk lists what to build:
#   PROGS          programs, each from <prog>_OBJS
#   UNIT_TESTS     cmocka test programs, each from <test>_OBJS (+ <test>_LDFLAGS)
#   SHLIBS         shared libraries (the stress shim), each from <lib>_OBJS;
#                  every object of such a build is then compiled -fPIC
# Object names are relative to SRC, "common/x.o" for common/x.c and
# "tests/x.o" for STEP/tests/unit/x.c.

STEP ?= $(error STEP is not set)
SRC  ?= $(STEP)/src
OUT  ?= $(error OUT is not set)

include $(STEP)/step.mk

CC       ?= cc
CPPFLAGS += -I$(SRC) $(if $(filter common,$(SRC)),,-Icommon) -D_POSIX_C_SOURCE=200809L
CFLAGS   ?= -g -O2
CFLAGS   += -std=c11 -Wall -Wextra -Wpedantic $(if $(NO_WERROR),,-Werror) -MMD -MP
CFLAGS   += $(if $(SHLIBS),-fPIC)
# A stub leaves the parameters, locals and helpers of its exercise unused
# until the exercise is written. Every build but the reference's (the
# skeleton, a teeth variant, a submission) lets that pass, so that no stub
# needs "(void)x;" lines the student would have to delete; the reference
# is built with every warning, so the code students copy has none.
ifeq ($(filter solutions/%,$(SRC)),)
CFLAGS   += -Wno-unused-parameter -Wno-unused-variable \
	    -Wno-unused-but-set-variable -Wno-unused-function
endif
ifneq ($(SANITIZE),)
CFLAGS   += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=$(SANITIZE)
endif
CMOCKA_CFLAGS := $(shell pkg-config --cflags cmocka 2>/dev/null)
CMOCKA_LIBS   := $(or $(shell pkg-config --libs cmocka 2>/dev/null),-lcmocka)

# Short "CC file" lines; V=1 shows the full commands.
ifeq ($(V),)
  Q   := @
  say  = printf '  %-4s %s\n' '$(1)' '$(2)';
endif

BINS  := $(addprefix $(OUT)/,$(PROGS))
TESTS := $(addprefix $(OUT)/,$(UNIT_TESTS))
LIBS  := $(addprefix $(OUT)/,$(SHLIBS))

all: $(BINS) $(LIBS)
unit: $(TESTS)
.PHONY: all unit

# Objects are written under a temporary name and renamed: two runs sharing
# a build directory then never see a half-written file. The dependency file
# (which headers the object includes) is named after the object, not the
# temporary, so that editing a header rebuilds what includes it; editing
# these rules rebuilds everything.
compile = $(Q)$(call say,CC,$<)$(CC) $(CPPFLAGS) $(1) $(CFLAGS) -MF $@.$$$$.dtmp -MT $@ \
	-c $< -o $@.$$$$.tmp && mv -f $@.$$$$.dtmp $(@:.o=.d) && mv -f $@.$$$$.tmp $@

$(OUT)/obj/common/%.o: common/%.c mk/step.mk
	@mkdir -p $(@D)
	$(call compile)

$(OUT)/obj/tests/%.o: $(STEP)/tests/unit/%.c mk/step.mk
	@mkdir -p $(@D)
	$(call compile,$(CMOCKA_CFLAGS))

$(OUT)/obj/%.o: $(SRC)/%.c mk/step.mk
	@mkdir -p $(@D)
	$(call compile)

# One link rule per program: its objects come from <prog>_OBJS.
define link_prog
$(OUT)/$(1): $$(addprefix $(OUT)/obj/,$$($(1)_OBJS))
	$$(Q)$$(call say,LD,$$@)$$(CC) $$(LDFLAGS) $$^ -o $$@.$$$$$$$$.tmp $$($(1)_LDLIBS) && mv -f $$@.$$$$$$$$.tmp $$@
endef
define link_test
$(OUT)/$(1): $$(addprefix $(OUT)/obj/,$$($(1)_OBJS))
	$$(Q)$$(call say,LD,$$@)$$(CC) $$(LDFLAGS) $$($(1)_LDFLAGS) $$^ -o $$@.$$$$$$$$.tmp $$(CMOCKA_LIBS) $$($(1)_LDLIBS) && mv -f $$@.$$$$$$$$.tmp $$@
endef
define link_lib
$(OUT)/$(1): $$(addprefix $(OUT)/obj/,$$($(1)_OBJS))
	$$(Q)$$(call say,LD,$$@)$$(CC) -shared $$(LDFLAGS) $$^ -o $$@.$$$$$$$$.tmp $$($(1)_LDLIBS) && mv -f $$@.$$$$$$$$.tmp $$@
endef
$(foreach p,$(PROGS),$(eval $(call link_prog,$(p))))
$(foreach l,$(SHLIBS),$(eval $(call link_lib,$(l))))
$(foreach t,$(UNIT_TESTS),$(eval $(call link_test,$(t))))

# (Older builds left dependency files named after temporaries: skipped.)
-include $(shell find $(OUT)/obj -name '*.d' ! -name '*.o.*.d' 2>/dev/null)
