#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder's image (the archive from `grader/grade --make-gradescope-zip`
# is unpacked in /autograder/source). It installs what the kit's tests need,
# through the kit's own dependency script.
set -eu
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq build-essential make python3 git ca-certificates
cd /autograder/source/kit
scripts/deps.sh
# The kit's process tests need bats 1.5 or later (Ubuntu 22.04 has 1.2):
# take bats-core 1.8.2, the version the kit was written against.
if ! bats --version | awk '{ split($2, v, "."); exit !(v[1] > 1 || v[2] >= 5) }'; then
	git clone -q --depth 1 --branch v1.8.2 https://github.com/bats-core/bats-core.git /tmp/bats-core
	/tmp/bats-core/install.sh /usr/local
	rm -rf /tmp/bats-core
fi
bats --version
