# The stress shim (see stress.c): one shared library, preloaded into the
# programs under test by tests/helpers.bash when STRESS=1.
PROGS :=
UNIT_TESTS :=
SHLIBS := libstress.so
libstress.so_OBJS := stress.o
libstress.so_LDLIBS := -ldl
