/*
 * An experiment, not part of HTAP Studio: what a capture trigger written in C would cost the
 * writers (tests/bench/capture_c.sh measures it; docs/benchmarks.md has the figures).
 *
 * htap_capture_poc_row(): an AFTER ROW trigger that copies chosen columns of the row into
 * delta tables, with no SQL: no PL/pgSQL call, no SPI statement, no search_path to set.
 * Arguments come in pairs: a delta table's OID and the trigger table's column numbers to copy,
 * comma separated; the delta table has those columns, then a smallint sign (1 for a new row,
 * -1 for a deleted one) and a timestamptz (the clock). It checks no privileges, evaluates no
 * expression, ignores UPDATE's old row and follows no partition's column numbers: what a real
 * one would have to do is listed in docs/benchmarks.md.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(htap_capture_poc_row);

#define MAX_COLUMNS 64

Datum
htap_capture_poc_row(PG_FUNCTION_ARGS)
{
    TriggerData *td = (TriggerData *) fcinfo->context;
    Trigger    *tg;
    HeapTuple   row;
    TupleDesc   rowdesc;
    bool        deleted;

    if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_AFTER(td->tg_event))
        elog(ERROR, "htap_capture_poc_row: must be an AFTER ROW trigger");
    tg = td->tg_trigger;
    deleted = TRIGGER_FIRED_BY_DELETE(td->tg_event);
    row = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newtuple : td->tg_trigtuple;
    rowdesc = RelationGetDescr(td->tg_relation);

    for (int g = 0; g + 1 < tg->tgnargs; g += 2)
    {
        Oid         delta_oid = DatumGetObjectId(DirectFunctionCall1(oidin, CStringGetDatum(tg->tgargs[g])));
        Relation    delta = table_open(delta_oid, RowExclusiveLock);
        TupleDesc   deltadesc = RelationGetDescr(delta);
        Datum       values[MAX_COLUMNS];
        bool        nulls[MAX_COLUMNS];
        char       *list = pstrdup(tg->tgargs[g + 1]);
        char       *save = NULL;
        int         n = 0;
        HeapTuple   copy;

        for (char *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
        {
            if (n >= MAX_COLUMNS - 2)
                elog(ERROR, "htap_capture_poc_row: too many columns");
            values[n] = heap_getattr(row, atoi(tok), rowdesc, &nulls[n]);
            n++;
        }
        values[n] = Int16GetDatum(deleted ? -1 : 1);
        nulls[n++] = false;
        values[n] = TimestampTzGetDatum(GetCurrentTimestamp());
        nulls[n++] = false;
        if (n != deltadesc->natts)
            elog(ERROR, "htap_capture_poc_row: %d values for the %d columns of %s", n, deltadesc->natts,
                 RelationGetRelationName(delta));
        copy = heap_form_tuple(deltadesc, values, nulls);
        simple_heap_insert(delta, copy);
        heap_freetuple(copy);
        pfree(list);
        table_close(delta, NoLock);
    }
    return PointerGetDatum(NULL);
}
