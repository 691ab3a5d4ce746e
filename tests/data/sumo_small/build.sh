#!/bin/sh
# Rebuild small.net.xml from the plain XML with netconvert from the eclipse-sumo wheel (1.28):
#   sh build.sh   (run from this folder, with the venv that has eclipse-sumo active)
set -e
NETCONVERT="$(python -c 'import sumo, os; print(os.path.join(sumo.SUMO_HOME, "bin", "netconvert"))')"
"$NETCONVERT" --node-files small.nod.xml --edge-files small.edg.xml \
    --connection-files small.con.xml --tllogic-files small.tll.xml \
    --no-turnarounds.except-deadend true --output.street-names false \
    --output-file small.net.xml
