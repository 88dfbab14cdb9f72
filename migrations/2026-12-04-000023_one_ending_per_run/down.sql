DROP INDEX ledger_one_ending_per_run;
