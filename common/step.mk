# common/ is not an exercise: only its unit tests are built here.
PROGS :=
UNIT_TESTS := test_io test_log test_util test_opt test_rundir test_selfpipe test_rtt

# write() and read() are replaced by mocks (-Wl,--wrap) to force short
# transfers, EINTR and errors on demand.
test_io_OBJS    := tests/test_io.o common/io.o
test_io_LDFLAGS := -Wl,--wrap=write -Wl,--wrap=read
test_log_OBJS   := tests/test_log.o common/log.o common/io.o
test_util_OBJS  := tests/test_util.o common/util.o
test_opt_OBJS   := tests/test_opt.o common/opt.o common/util.o common/log.o common/io.o
test_rundir_OBJS   := tests/test_rundir.o common/rundir.o
test_selfpipe_OBJS := tests/test_selfpipe.o common/selfpipe.o
test_rtt_OBJS      := tests/test_rtt.o common/rtt.o
