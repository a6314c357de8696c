#!/usr/bin/env bats
# Debugging as students do it: .vscode/ (build and test tasks per step,
# gdb launch and attach entries) and the README's section on debugging a
# multi-process program. The launch entries' gdb settings are run for
# real on step 1's reference d.

bats_require_minimum_version 1.5.0

setup() {
	bats_load_library bats-support
	bats_load_library bats-assert
	cd "$KIT_ROOT" || return 1
	SHM="/osps-gdb$BATS_ROOT_PID-$BATS_SUITE_TEST_NUMBER"
}
teardown() {
	# A d that gdb let run free ends on its own within a second.
	for ((i = 0; i < 50; i++)); do
		pgrep -f -- "-m $SHM " >/dev/null || break
		sleep 0.1
	done
	rm -f "/dev/shm$SHM"
	return 0
}

# setup_commands NAME: the gdb commands of the launch entry NAME, one per line.
setup_commands() {
	python3 -c 'import json, sys
for c in json.load(open(".vscode/launch.json"))["configurations"]:
    if c["name"] == sys.argv[1]:
        print("\n".join(s["text"] for s in c["setupCommands"] if not s["text"].startswith("-")))' "$1"
}

@test "[run] .vscode: a build and a test task per step, launch entries for d, w and the watchdog" {
	run -0 python3 - <<'PY'
import json, re
tasks = json.load(open(".vscode/tasks.json"))["tasks"]
launch = json.load(open(".vscode/launch.json"))
ready = re.search(r"^STEPS_READY := (.*)$", open("Makefile").read(), re.M).group(1).split()
labels = {t["label"]: t for t in tasks}
for n in ready:
    assert labels[f"build step {n}"]["args"] == [f"step{n}"], n
    assert labels[f"test step {n}"]["args"] == [f"test-step{n}"], n
inputs = {i["id"]: i["options"] for i in launch["inputs"]}
progs = {}
for d in sorted({d for opts in inputs.values() for d in opts}):
    progs[d] = re.search(r"^PROGS := (.*)$", open(f"{d}/step.mk").read(), re.M).group(1).split()
seen = set()
for c in launch["configurations"]:
    m = re.fullmatch(r"\$\{workspaceFolder\}/build/(.+)/(\w+)", c["program"])
    d, prog = m.groups()
    m = re.fullmatch(r"\$\{input:(\w+)\}", d)
    for step in inputs[m.group(1)] if m else [d]:
        assert prog in progs[step], (c["name"], step, prog)
    if c["request"] == "launch":
        assert c["preLaunchTask"] in labels, c["name"]
    else:
        assert c["processId"] == "${command:pickProcess}", c["name"]
    text = " ".join(s["text"] for s in c["setupCommands"])
    assert "follow-fork-mode" in text and "detach-on-fork" in text, c["name"]
    assert "handle SIGUSR1 SIGUSR2" in text, c["name"]
    seen.add((c["request"], prog))
need = {("launch", "d"), ("launch", "watchdog"), ("attach", "d"), ("attach", "w"), ("attach", "watchdog")}
assert need <= seen, need - seen
print("ok")
PY
	assert_output ok
}

@test "[run] the launch entries' gdb settings: follow w into its exec, or stay with d while w runs free" {
	command -v gdb >/dev/null || skip "gdb is not installed"
	gdb -q -batch -nx -ex run --args /bin/true 2>&1 | grep -q 'exited normally' ||
		skip "gdb cannot run a program here (ptrace not permitted)"
	make -s step1 IMPL=solution
	d=build/solution/step1_shm/d
	mapfile -t follow < <(setup_commands "step 1: d, then w after fork+exec")
	mapfile -t stay < <(setup_commands "step 1: d (w runs free)")
	[[ ${#follow[@]} -ge 3 && ${#stay[@]} -ge 3 ]]
	args=()
	for c in "${follow[@]}"; do args+=(-ex "$c"); done
	run timeout -k 5 60 gdb -q -batch -nx "${args[@]}" -ex 'catch exec' -ex run -ex 'info inferiors' \
		--args "$d" -m "$SHM" -t 50 </dev/null 3>&-
	assert_output --regexp "exec'd .*/step1_shm/w"
	assert_line --regexp '^\* 2 +process [0-9]+ .*/step1_shm/w'
	args=()
	for c in "${stay[@]}"; do args+=(-ex "$c"); done
	run timeout -k 5 60 gdb -q -batch -nx "${args[@]}" -ex run --args "$d" -m "$SHM" -t 50 </dev/null 3>&-
	assert_output --regexp 'd read: w\[[0-9]+\] done: request 1'
	assert_output --partial 'status="exited with code 0"'
	assert_output --regexp 'exited normally'
}

@test "[run] the README explains debugging a multi-process program" {
	section=$(sed -n '/^## Debugging a multi-process program/,/^## /p' README.md)
	for word in follow-fork-mode detach-on-fork 'gdb -q -p' 'strace -f' 'ps -o pid,ppid,pgid,stat' .vscode; do
		[[ $section == *"$word"* ]] || fail "the debugging section does not mention $word"
	done
}
