#!/usr/bin/env bash
# Everything the Worker deploys: the Worker itself (build/) and the playground it serves
# from www/ (www/pkg/, www/dist/). Each step does nothing when it is up to date.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-worker.sh
bash scripts/build-playground.sh
