"""Long-running services pde starts and stops (Superset, Airflow)."""
