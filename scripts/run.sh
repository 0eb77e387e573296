#!/usr/bin/env bash
# The main job: sets everything up (scripts/setup.sh), then runs the stube
# EDN tool on the sample conversation: validate it, then pretty-print it.
# (It becomes the demo server once that exists.)
#
#   bash scripts/run.sh [EDN_FILE]      # default: examples/conversation.edn
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

file=${1:-examples/conversation.edn}
build_dir=${STUBE_BUILD_DIR:-build}

bash scripts/setup.sh
"$build_dir/tools/stube-edn" check "$file"
"$build_dir/tools/stube-edn" fmt "$file"
