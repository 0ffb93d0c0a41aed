-- The second organisation's catalog, beside the first's (POSTGRES_DB).
CREATE DATABASE caravan_b;
