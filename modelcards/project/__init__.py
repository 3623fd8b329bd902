"""project: the driver. The project's configuration, validated up front; `build` runs every
stage for every model and writes the outputs; `check` is the pull-request gate over the same
fingerprints; `lock` pins Hub bases; `discover` proposes a configuration (`modelcards init`).

Only this package (and the CLI and API above it) knows the whole configuration.
"""
