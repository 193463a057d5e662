"""Airflow: the nightly backup of pde's databases (`pde backup`; pde/backup.py). PDE_BACKUP_SCHEDULE changes when."""

from pde.backup import backup_dag

dag = backup_dag()
