"""Numbers from the run records, and the published numbers they are set beside: no prose, no HTML,
and no torch at import (results.model_size and mistakes' MNIST test set load it when called). The
modules, and their chapters:

    results           records -> numbers, tables, comparisons, verdicts  [all of Part 2]
    comparisons       exact permutation tests over seeds, their intervals, Holm's correction  [ablations]
    ablations         each ablation against the baseline, by section; a failed seed's facts  [ablations]
    selection         every tuning rule: the rounds', the finals', the quick recipe's, the first tuning's  [methods]
    best              the best recipes under 20,000 and 8,000 parameters, beside the field  [training, going further]
    training_notes    particular runs' numbers; the fast recipe's settings    [methods]
    mistakes          confusion matrix and hardest digits, from the records    [training]
    class_report      a class's run records validated, counted and drawn (`class-report`)  [instructor guide]
    original          what the original assignment published (syllabus, logs)  [training, ablations]
    field             public small-MNIST results the best recipes are compared with  [methods]
"""
