-- The online partition move's reads and its state (src/advise/partitionmove.cpp). $1 is a
-- table's quoted schema.name unless said otherwise. Definitions are read with search_path =
-- pg_catalog by the caller, so every name in them is schema-qualified.

-- name: state_table
CREATE TABLE IF NOT EXISTS htap.partition_moves (
    id            bigserial PRIMARY KEY,
    source_schema text NOT NULL,
    source_name   text NOT NULL,     -- the table's name, before and after the move
    column_name   text NOT NULL,     -- the partition key
    key_column    text NOT NULL,     -- the old table's one-column primary key
    key_type      text NOT NULL,
    temp_name     text NOT NULL,     -- the partitioned table's name until the swap (and after an undo)
    old_name      text NOT NULL,     -- the old table's name after the swap
    method        text NOT NULL,     -- declarative, pg_partman
    phase         text NOT NULL,     -- copying, swapped, undone, finished
    copied_up_to  text,              -- the last key copied (text of key_type)
    copy_upper    text,              -- the highest key when the copy began; later ones come from the log
    rows_copied   bigint NOT NULL DEFAULT 0,
    saved         jsonb NOT NULL DEFAULT '{}', -- what the swap changes: foreign keys, index names, views
    started_at    timestamptz NOT NULL DEFAULT now(),
    swapped_at    timestamptz,
    swap_pause_ms float8,
    finished_at   timestamptz,
    by_role       text NOT NULL DEFAULT current_user
)

-- name: state_index
-- One unfinished move a table.
CREATE UNIQUE INDEX IF NOT EXISTS partition_moves_active ON htap.partition_moves (source_schema, source_name)
    WHERE phase IN ('copying', 'swapped')

-- name: move_of
SELECT id FROM htap.partition_moves
WHERE to_regclass('htap.partition_moves') IS NOT NULL AND source_schema = $1 AND source_name = $2 AND phase IN ('copying', 'swapped')

-- name: load
SELECT id, source_schema, source_name, column_name, key_column, key_type, temp_name, old_name, method, phase,
       copied_up_to, copy_upper, rows_copied, saved::text, coalesce(swap_pause_ms, 0)
FROM htap.partition_moves WHERE id = $1

-- name: key_column
-- The table's primary key when it is one column, its type, and whether it is the partition key.
SELECT a.attname, format_type(a.atttypid, a.atttypmod), array_length(x.indkey::int2[], 1) AS ncols
FROM pg_index x JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
WHERE x.indrelid = to_regclass($1) AND x.indisprimary

-- name: columns
-- The columns a copy writes: every column but generated ones.
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum

-- name: shape
-- What the table looks like: columns with types, defaults, nullability; constraints; indexes.
-- The move's guard: a table that changed since the advice is refused.
SELECT coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                   || coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum)
                 FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                 WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '') || '|' ||
       coalesce((SELECT string_agg(k.conname || ' ' || pg_get_constraintdef(k.oid), ', ' ORDER BY k.conname)
                 FROM pg_constraint k WHERE k.conrelid = c.oid OR k.confrelid = c.oid), '') || '|' ||
       coalesce((SELECT string_agg(pg_get_indexdef(x.indexrelid), '; ' ORDER BY pg_get_indexdef(x.indexrelid))
                 FROM pg_index x WHERE x.indrelid = c.oid), '') || '|' || c.relkind::text
FROM pg_class c WHERE c.oid = to_regclass($1)

-- name: indexes
SELECT i.relname, pg_get_indexdef(x.indexrelid) AS def, x.indisprimary, x.indisunique,
       EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = x.indrelid AND a.attname = $2 AND a.attnum = ANY (x.indkey::int2[])) AS has_column,
       (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY u.i) FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(n, i)
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.n) AS key_columns,
       k.conname AS constraint_name
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid
WHERE x.indrelid = to_regclass($1)
ORDER BY x.indisprimary DESC, i.relname

-- name: constraints_out
-- Foreign keys of the table to others: they are made again on the partitioned table.
SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass($1) AND contype = 'f' ORDER BY conname

-- name: constraints_in
-- Foreign keys of other tables that point to it: PostgreSQL cannot point them at a partitioned
-- table's column that is not unique across partitions.
SELECT k.conname, quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS referencing, pg_get_constraintdef(k.oid)
FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.confrelid = to_regclass($1) AND k.contype = 'f' AND k.conrelid <> k.confrelid ORDER BY 2, 1

-- name: not_carried
-- What the table has that the partitioned table would not get, so that the move is refused
-- rather than losing it at the swap: its own triggers (not internal ones, not the incremental
-- views' capture or a move's log, which the move handles), row-level security and its
-- policies (the new table would show every row), column grants (only the table's are carried:
-- a writer granted columns would be refused), rules, and publications that replicate it
-- (the new table would not be published, or be published by partition under other names).
SELECT 'trigger ' || quote_ident(t.tgname) FROM pg_trigger t
WHERE t.tgrelid = to_regclass($1) AND NOT t.tgisinternal
  AND t.tgname NOT LIKE 'htap\_ivm\_%' AND t.tgname NOT LIKE 'htap\_partition\_move\_%'
UNION ALL
SELECT 'row-level security' FROM pg_class c WHERE c.oid = to_regclass($1) AND (c.relrowsecurity OR c.relforcerowsecurity)
UNION ALL
SELECT 'policy ' || quote_ident(p.polname) FROM pg_policy p WHERE p.polrelid = to_regclass($1)
UNION ALL
SELECT 'column grants on ' || quote_ident(a.attname) FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL
UNION ALL
SELECT 'rule ' || quote_ident(r.rulename) FROM pg_rewrite r WHERE r.ev_class = to_regclass($1) AND r.rulename <> '_RETURN'
UNION ALL
SELECT 'publication ' || quote_ident(p.pubname) FROM pg_publication p
WHERE p.puballtables
   OR EXISTS (SELECT 1 FROM pg_publication_rel pr WHERE pr.prpubid = p.oid AND pr.prrelid = to_regclass($1))
   OR EXISTS (SELECT 1 FROM pg_publication_namespace pn JOIN pg_class c ON c.relnamespace = pn.pnnspid
              WHERE pn.pnpubid = p.oid AND c.oid = to_regclass($1))

-- name: sequences
-- Sequences that feed the table's columns: owned by it (serial, OWNED BY) or an identity's.
SELECT a.attname, quote_ident(sn.nspname) || '.' || quote_ident(s.relname) AS sequence, a.attidentity <> '' AS identity
FROM pg_depend d
JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S'
JOIN pg_namespace sn ON sn.oid = s.relnamespace
JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1)
  AND d.deptype IN ('a', 'i')

-- name: dependent_views
-- Views and materialized views that read the table directly, but the engines' own.
SELECT DISTINCT n.nspname, v.relname, v.relkind::text, rtrim(btrim(pg_get_viewdef(v.oid)), ';') AS def
FROM pg_depend d
JOIN pg_rewrite w ON w.oid = d.objid AND d.classid = 'pg_rewrite'::regclass
JOIN pg_class v ON v.oid = w.ev_class
JOIN pg_namespace n ON n.oid = v.relnamespace
WHERE d.refclassid = 'pg_class'::regclass AND d.refobjid = to_regclass($1) AND v.oid <> to_regclass($1)
  AND v.relkind IN ('v', 'm') AND n.nspname NOT IN ('htap', 'htap_ivm')

-- name: ivm_views
-- Incremental views (generation 2 on) that capture the table.
SELECT v.view_schema, v.view_name, v.definition
FROM htap.ivm_views v
WHERE EXISTS (SELECT 1 FROM htap.ivm_capture k WHERE k.view_id = v.view_id AND k.root = to_regclass($1))

-- name: children
-- The partitions of the partitioned table, to be renamed with it.
SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY 1

-- name: storage_options
-- The table's storage parameters (fillfactor, the autovacuum settings a DBA tuned) and its TOAST
-- table's (as toast.name), name and value apart; a partitioned table takes none, its partitions do.
SELECT split_part(o, '=', 1), substr(o, strpos(o, '=') + 1) FROM pg_class c, unnest(c.reloptions) o WHERE c.oid = to_regclass($1)
UNION ALL
SELECT 'toast.' || split_part(o, '=', 1), substr(o, strpos(o, '=') + 1)
FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid, unnest(t.reloptions) o WHERE c.oid = to_regclass($1)

-- name: partman_template
-- pg_partman's template table for a parent (schema.name as part_config spells it): the partitions
-- it makes later take the template's storage parameters.
SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname || '.' || c.relname = (SELECT template_table FROM @partman@.part_config WHERE parent_table = $1)

-- name: partman_template_own
-- The same template when no other parent of part_config names it (pg_partman makes templates
-- with IF NOT EXISTS under names cut to 63 bytes, so two parents may share one): what an undo drops.
SELECT c.oid::regclass::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname || '.' || c.relname = (SELECT template_table FROM @partman@.part_config WHERE parent_table = $1)
  AND NOT EXISTS (SELECT 1 FROM @partman@.part_config p WHERE p.template_table = n.nspname || '.' || c.relname AND p.parent_table <> $1)

-- name: matview_indexes
SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
WHERE x.indrelid = to_regclass($1) ORDER BY 1

-- name: grants
-- A relation's ($1) owner and its grants, as GRANT statements on $2 (a quoted name).
SELECT pg_get_userbyid(c.relowner), (SELECT string_agg(format('GRANT %s ON %s TO %s', a.privilege_type, $2::text,
           CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END), ';')
        FROM aclexplode(c.relacl) a WHERE a.grantee <> c.relowner)
FROM pg_class c WHERE c.oid = to_regclass($1)

-- name: range
-- The partition key's first and last month, and the highest key to copy.
SELECT to_char(date_trunc('month', min(%COL%)), 'YYYY-MM-DD'), to_char(date_trunc('month', max(%COL%)), 'YYYY-MM-DD'),
       max(%KEY%)::text, count(*) FROM %TABLE%

-- name: lock_holders
-- Who holds or waits for a lock on any of the relations ($1: regclass text[]), other than us.
SELECT l.pid, l.mode, l.granted, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
       coalesce(extract(epoch FROM now() - a.xact_start)::float8, 0), left(coalesce(a.query, ''), 160), l.relation::regclass::text
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.relation = ANY (SELECT to_regclass(t) FROM unnest($1::text[]) t)
  AND l.granted AND l.pid <> pg_backend_pid()
ORDER BY a.xact_start NULLS LAST LIMIT 3
