# Step 2: what to build (see mk/step.mk for the rules).
PROGS := d w race zombie
d_OBJS := d.o child.o run.o fifo.o proto.o shm_area.o common/log.o \
	common/io.o common/util.o common/rundir.o common/selfpipe.o \
	common/rtt.o common/opt.o
w_OBJS := w.o proto.o shm_area.o common/log.o common/io.o common/util.o \
	common/rundir.o common/selfpipe.o
# The step's demos, each a program of its own (race.c, zombie.c).
race_OBJS := race.o shm_area.o common/log.o common/io.o common/util.o \
	common/opt.o
zombie_OBJS := zombie.o common/log.o common/io.o common/util.o \
	common/selfpipe.o common/opt.o

# read() is replaced by a mock (-Wl,--wrap) to deliver messages in
# pieces, glued together, or cut by end of file, on demand.
UNIT_TESTS := test_proto test_fifo
test_proto_OBJS    := tests/test_proto.o proto.o common/io.o
test_proto_LDFLAGS := -Wl,--wrap=read
test_fifo_OBJS     := tests/test_fifo.o fifo.o
