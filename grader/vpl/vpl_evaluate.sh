#!/bin/bash
# vpl_evaluate.sh - Moodle VPL's evaluation script for the OSPS lab kit.
#
# Upload it as an execution file of the VPL activity, with osps-kit.tar.gz
# (both written by `grader/grade --make-vpl DIR --steps N`; see
# grader/README.md, "Moodle VPL"). VPL runs it in the directory holding
# the student's files; it writes vpl_execution, which VPL then runs: the
# grader grades those files with the kit's own tests and prints VPL's
# "Comment :=>>" lines, then "Grade :=>> N" (N out of the grader's total).
STEPS="${OSPS_STEPS:-}"
# More options for grader/grade, e.g. a rubric of the kit's: "--rubric RUBRIC"
# (see `grader/grade --help`; VPL's jail runs this as an unprivileged user).
FLAGS=""
cat > vpl_execution <<EXEC
#!/bin/bash
# Written by vpl_evaluate.sh: unpack the kit outside the student's files,
# then grade them.
kit=\$(mktemp -d) || { echo "Comment :=>>grader: mktemp failed"; echo "Grade :=>> 0"; exit 0; }
trap 'rm -rf "\$kit"' EXIT
if ! tar -xzf osps-kit.tar.gz -C "\$kit"; then
	echo "Comment :=>>grader: cannot unpack osps-kit.tar.gz (is it among the execution files?)"
	echo "Grade :=>> 0"
	exit 0
fi
grade() { "\$kit/kit/grader/grade" --kit "\$kit/kit" --vpl ${STEPS:+--steps "$STEPS"} $FLAGS "\$@"; }
# The sandbox first. VPL's jail may forbid what bubblewrap needs
# (namespaces, mounts): only when the grader refuses for that reason
# (bwrap's own error) is the work graded again with --weak-isolation,
# which the report then states.
grade 2>"\$kit/err"
status=\$?
if [ "\$status" -eq 1 ] && grep -q "^grade: cannot make the sandbox: bwrap:" "\$kit/err"; then
	echo "vpl_execution: no sandbox in VPL's jail: grading with --weak-isolation" >&2
	grade --weak-isolation
	status=\$?
else
	cat "\$kit/err" >&2
fi
exit "\$status"
EXEC
chmod +x vpl_execution
