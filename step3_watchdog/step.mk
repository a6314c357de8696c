# Step 3: what to build (see mk/step.mk for the rules).
PROGS := watchdog d w
COMMON := common/log.o common/io.o common/util.o common/rundir.o common/selfpipe.o \
	common/opt.o
watchdog_OBJS   := watchdog.o watch.o teardown.o sup.o supopt.o registry.o spawn.o proc.o shm_area.o $(COMMON)
watchdog_LDLIBS := -lm
d_OBJS   := d.o workers.o proto.o fifo.o sup.o supopt.o registry.o spawn.o proc.o server.o \
	shm_area.o $(COMMON)
d_LDLIBS := -lm
w_OBJS   := w.o proto.o registry.o server.o shm_area.o $(COMMON)

UNIT_TESTS := test_sup test_registry
test_sup_OBJS      := tests/test_sup.o sup.o
test_registry_OBJS := tests/test_registry.o registry.o server.o common/log.o common/io.o common/util.o
