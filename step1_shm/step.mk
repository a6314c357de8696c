# Step 1: what to build (see mk/step.mk for the rules).
PROGS := d w
d_OBJS := d.o shm_area.o common/log.o common/io.o common/util.o
w_OBJS := w.o shm_area.o common/log.o common/io.o common/util.o

UNIT_TESTS := test_shm_area
test_shm_area_OBJS := tests/test_shm_area.o shm_area.o
