"""How runs are planned, stored, run and timed. No module imports torch but those that train, sweep and
bench (hardware imports it in the functions that measure). The modules:

    records           the run record's schema; atomic writes                   [training, status]
    experiments       the run plans (training, ablations, small, tuning); the records audit  [ablations]
    runs              where the records are; each planned run with its record  [all of Part 2]
    sweep             many runs side by side, resumable (`python -m s6lib sweep`)
    bench             the speed benchmark (`python -m s6lib bench`)            [status]
    hardware          a training step's FLOPs and the device's peak, for the benchmark  [status]
    provenance        device, package versions and commit of a result          [status]
    run_times         minutes: the chapters' stated times, training times from the records  [how to run]
    status            what is recorded, what is still to run, the benchmark, the audit  [status]
"""
