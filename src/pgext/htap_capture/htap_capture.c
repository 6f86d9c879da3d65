/*
 * htap_capture: the incremental views' capture of changed rows, in C.
 *
 * The engine's default capture (sql/htap/ivm.sql, htap.ivm_capture_sync) is one PL/pgSQL
 * statement trigger per table and event that runs an INSERT ... SELECT per view over the
 * statement's transition tables. Measured on the seed's order transaction, that statement is
 * what capture costs the writers (docs/benchmarks.md, "the CPU an order costs"): about 150 us
 * of server CPU per order, whatever the statement computes.
 *
 * Here the same capture runs as an AFTER ROW trigger with no SQL at run time. The trigger's
 * argument is the captured table; the first time a session's statement fires it on a table
 * (the captured table itself, an inheritance child or a partition), it reads from the engine's
 * registry (htap.ivm_capture_row_statements) the INSERT and DELETE capture statements of the
 * views in capture mode c, with the transition table replaced by that very table, plans each
 * one and keeps the plan's projection and filter. Each changed row is then run through them
 * with the executor's expression machinery and inserted into the view's delta table with
 * table_tuple_insert: the same rows as the statement capture writes, computed by the same
 * expressions.
 *
 * - An UPDATE whose row keeps the same image of every captured column is skipped; otherwise it
 *   writes the old row's delete and the new row's insert (a join's dirty key once when both
 *   are the same key), which is what the statement capture writes for it.
 * - Expressions run as the engine's owner (the registry's owner), as the SECURITY DEFINER
 *   capture functions do; the writer needs no privilege on the engine's tables.
 * - The plans are kept per session and table until the table's relcache entry is invalidated:
 *   DDL on it, and htap.ivm_capture_row_reset, which htap.ivm_capture_sync calls whenever the
 *   registry of a table changes.
 * - A plan that is not a plain scan of the one row (a sub-select, a set-returning function, a
 *   filter the planner folded away) is an error: htap.ivm_set_capture_mode plans every member
 *   with htap.ivm_capture_row_check before it commits, so a view that cannot run here stays in
 *   the statement capture.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/acl.h"
#include "utils/regproc.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(htap_ivm_capture_row);
PG_FUNCTION_INFO_V1(htap_ivm_capture_row_check);
PG_FUNCTION_INFO_V1(htap_ivm_capture_row_reset);

/* What one capture statement became for one table: a filter and a projection into a delta. */
typedef struct Target
{
    Oid         delta;          /* the delta table */
    TupleDesc   deltadesc;      /* its row type when planned */
    AttrNumber  clock;          /* its __ivm_at column (not compared), or 0 */
    ExprState  *qual;           /* NULL: every row */
    ProjectionInfo *proj;       /* the delta's row from the changed row */
} Target;

/* One view's capture of the table (per time the view reads it: a self-join reads it twice). */
typedef struct ViewCapture
{
    int         view_id;
    int         table_index;
    Target     *ins;            /* a new row (NULL: the view does not capture inserts) */
    Target     *del;            /* a deleted row */
    Target     *upd_old;        /* an updated row, its old and new images (NULL: no update capture) */
    Target     *upd_new;
    int         nwatched;       /* the columns whose change an UPDATE is captured for */
    AttrNumber *watched;
} ViewCapture;

typedef struct Entry
{
    Oid         relid;          /* the table the trigger fires on */
    Oid         root;           /* the captured table (the trigger's argument) */
    bool        valid;
    int         busy;           /* calls running with it: a nested one gets an entry of its own */
    Oid         owner;          /* expressions run as the engine's owner */
    MemoryContext cxt;
    EState     *estate;
    ExprContext *econtext;
    int         nviews;
    ViewCapture *views;
} Entry;

static Entry **entries = NULL;
static int  nentries = 0;
static int  maxentries = 0;
static bool callback_registered = false;
/* The entry being built (not stored yet): an invalidation meanwhile makes it stale at once. */
static Oid  building_relid = InvalidOid;
static Oid  building_root = InvalidOid;
static bool building_invalidated = false;

static void
invalidate(Datum arg, Oid relid)
{
    for (int i = 0; i < nentries; i++)
        if (relid == InvalidOid || entries[i]->relid == relid || entries[i]->root == relid)
            entries[i]->valid = false;
    if (OidIsValid(building_relid) && (relid == InvalidOid || relid == building_relid || relid == building_root))
        building_invalidated = true;
}

static void
free_entry(Entry *e)
{
    if (e->estate)
        FreeExecutorState(e->estate);
    MemoryContextDelete(e->cxt);
    pfree(e);
}

/* The owner of the engine's registry: who the capture runs as. */
static Oid
engine_owner(void)
{
    /* By the catalogs, not RangeVarGetRelid: the writer need not have USAGE on schema htap. */
    Oid         nsp = get_namespace_oid("htap", true);
    Oid         reg = OidIsValid(nsp) ? get_relname_relid("ivm_capture", nsp) : InvalidOid;
    HeapTuple   tup;
    Oid         owner;

    if (!OidIsValid(reg))
        ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
                        errmsg("htap_capture: the incremental view engine (htap.ivm_capture) is not installed")));
    tup = SearchSysCache1(RELOID, ObjectIdGetDatum(reg));
    if (!HeapTupleIsValid(tup))
        elog(ERROR, "htap_capture: cache lookup failed for relation %u", reg);
    owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
    ReleaseSysCache(tup);
    return owner;
}

/*
 * A function the capture would call that is not built in: it would run as the engine's owner
 * with the writer's search_path (the statement capture pins it), so mode c refuses it.
 */
static bool
not_built_in(Oid funcid, void *context)
{
    if (funcid >= FirstNormalObjectId)
    {
        *(Oid *) context = funcid;
        return true;
    }
    return false;
}

static bool
calls_user_function(Node *node, void *context)
{
    if (node == NULL)
        return false;
    if (check_functions_in_node(node, not_built_in, context))
        return true;
    return expression_tree_walker(node, calls_user_function, context);
}

/* Whether an expression needs more than the scanned row: a parameter or a sub-plan. */
static bool
outside_the_row(Node *node, void *context)
{
    if (node == NULL)
        return false;
    if (IsA(node, Param) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan))
        return true;
    return expression_tree_walker(node, outside_the_row, context);
}

/*
 * Plans one capture statement (an INSERT INTO delta SELECT ... FROM ONLY rel) and keeps its
 * scan's projection and filter, in the entry's memory.
 */
static Target *
plan_target(Entry *e, Relation rel, const char *sql, int view_id)
{
    MemoryContext old;
    MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "htap_capture planning", ALLOCSET_DEFAULT_SIZES);
    List       *raw;
    List       *queries;
    PlannedStmt *ps;
    ModifyTable *mt;
    Plan       *scan;
    RangeTblEntry *scanrte;
    RangeTblEntry *resultrte;
    List       *tlist;
    List       *qual;
    Target     *t;
    Relation    delta;

    old = MemoryContextSwitchTo(tmp);
    raw = pg_parse_query(sql);
    if (list_length(raw) != 1)
        elog(ERROR, "htap_capture: view %d: expected one capture statement", view_id);
    queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw), sql, NULL, 0, NULL);
    if (list_length(queries) != 1)
        elog(ERROR, "htap_capture: view %d: its capture statement was rewritten into %d", view_id, list_length(queries));
    ps = pg_plan_query(linitial_node(Query, queries), sql, 0, NULL);

    /* A plain scan of the one changed row, into one delta table. */
    if (ps->commandType != CMD_INSERT || !IsA(ps->planTree, ModifyTable))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("htap_capture: view %d: its capture statement is not an INSERT", view_id)));
    mt = (ModifyTable *) ps->planTree;
    scan = outerPlan(mt);
    if (scan == NULL || !IsA(scan, SeqScan) || ps->subplans != NIL || mt->returningLists != NIL
        || mt->onConflictAction != ONCONFLICT_NONE || list_length(mt->resultRelations) != 1 || mt->plan.initPlan != NIL
        || scan->initPlan != NIL || outside_the_row((Node *) scan->targetlist, NULL) || outside_the_row((Node *) scan->qual, NULL))
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("htap_capture: view %d: its capture of %s does not plan as a scan of the changed row",
                               view_id, RelationGetRelationName(rel)),
                        errdetail("Sub-selects, set-returning functions and filters that are always false cannot run per row; "
                                  "keep this view's capture mode sql.")));
    scanrte = rt_fetch(((Scan *) scan)->scanrelid, ps->rtable);
    if (scanrte->relid != RelationGetRelid(rel))
        elog(ERROR, "htap_capture: view %d: the capture scans relation %u, not %u", view_id, scanrte->relid, RelationGetRelid(rel));
    resultrte = rt_fetch(linitial_int(mt->resultRelations), ps->rtable);
    {
        Oid         userfn = InvalidOid;

        if (calls_user_function((Node *) scan->targetlist, &userfn) || calls_user_function((Node *) scan->qual, &userfn))
            ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                            errmsg("htap_capture: view %d: its capture calls %s, which is not built in", view_id,
                                   format_procedure(userfn)),
                            errdetail("Capture mode c runs only PostgreSQL's own functions; keep this view's capture mode sql.")));
    }
    /* What the engine's owner may insert into, in the engine's schema: nothing else. */
    if (get_rel_namespace(resultrte->relid) != get_namespace_oid("htap_ivm", false)
        || pg_class_aclcheck(resultrte->relid, e->owner, ACL_INSERT) != ACLCHECK_OK)
        ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
                        errmsg("htap_capture: view %d: its capture writes into %s, which is not a delta table of the engine's "
                               "owner in schema htap_ivm", view_id, get_rel_name(resultrte->relid))));

    MemoryContextSwitchTo(e->cxt);
    tlist = copyObject(scan->targetlist);
    qual = copyObject(scan->qual);
    t = palloc0(sizeof(Target));
    t->delta = resultrte->relid;
    delta = table_open(t->delta, AccessShareLock);
    if (delta->rd_rel->relkind != RELKIND_RELATION || RelationGetForm(delta)->relhasindex || delta->trigdesc != NULL
        || RelationGetForm(delta)->relrowsecurity)
        ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
                        errmsg("htap_capture: view %d: its delta table %s has indexes, triggers or policies, which a row capture "
                               "in C does not maintain", view_id, RelationGetRelationName(delta))));
    t->deltadesc = CreateTupleDescCopy(RelationGetDescr(delta));
    table_close(delta, AccessShareLock);
    if (list_length(tlist) != t->deltadesc->natts)
        elog(ERROR, "htap_capture: view %d: the capture computes %d columns for the %d of its delta", view_id,
             list_length(tlist), t->deltadesc->natts);
    for (int i = 0; i < t->deltadesc->natts; i++)
        if (strcmp(NameStr(TupleDescAttr(t->deltadesc, i)->attname), "__ivm_at") == 0)
            t->clock = i + 1;

    MemoryContextSwitchTo(e->estate->es_query_cxt);
    t->qual = ExecInitQual(qual, NULL);
    t->proj = ExecBuildProjectionInfo(tlist, e->econtext, MakeSingleTupleTableSlot(t->deltadesc, &TTSOpsVirtual), NULL,
                                      RelationGetDescr(rel));
    MemoryContextSwitchTo(old);
    MemoryContextDelete(tmp);
    return t;
}

/* Reads the registry and plans every statement for rel (captured as part of root) into e. */
static void
fill_entry(Entry *e, Relation rel, Oid root)
{
    Oid         relid = RelationGetRelid(rel);
    Oid         saveuid;
    int         savesec;
    int         nest;
    MemoryContext old;
    Oid         argtypes[2] = {OIDOID, OIDOID};
    Datum       args[2];
    SPITupleTable *tab;
    uint64      n;
    char      **views_sql;
    char      **events;
    int        *ids;
    int        *indexes;
    ArrayType **watched;

    /* As the engine's owner, with its search path, planned as a scan of the one row. */
    e->owner = engine_owner();
    GetUserIdAndSecContext(&saveuid, &savesec);
    SetUserIdAndSecContext(e->owner, savesec | SECURITY_LOCAL_USERID_CHANGE);
    nest = NewGUCNestLevel();
    (void) set_config_option("search_path", "pg_catalog, pg_temp", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    (void) set_config_option("enable_indexscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    (void) set_config_option("enable_indexonlyscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    (void) set_config_option("enable_bitmapscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    (void) set_config_option("enable_tidscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
    (void) set_config_option("max_parallel_workers_per_gather", "0", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);

    if (SPI_connect() != SPI_OK_CONNECT)
        elog(ERROR, "htap_capture: SPI_connect failed");
    args[0] = ObjectIdGetDatum(root);
    args[1] = ObjectIdGetDatum(relid);
    /*
     * The registry as committed now, not as the writer's snapshot saw it: the triggers that
     * fire are the catalog's latest (a REPEATABLE READ writer whose snapshot predates a switch
     * to mode c would otherwise find no view in mode c and capture nothing).
     */
    {
        SPIPlanPtr  plan = SPI_prepare("SELECT view_id, table_index, event, sql, watched "
                                       "FROM htap.ivm_capture_row_statements($1, $2)", 2, argtypes);

        if (plan == NULL)
            elog(ERROR, "htap_capture: preparing the capture statements' query failed: %s", SPI_result_code_string(SPI_result));
        if (SPI_execute_snapshot(plan, args, NULL, GetLatestSnapshot(), InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
            elog(ERROR, "htap_capture: reading the capture statements failed");
    }
    tab = SPI_tuptable;
    n = SPI_processed;
    /* By name and type: an engine's SQL of another version says so instead of being misread. */
    {
        static const char *const names[] = {"view_id", "table_index", "event", "sql", "watched"};
        static const Oid types[] = {INT4OID, INT4OID, TEXTOID, TEXTOID, TEXTARRAYOID};

        for (int k = 0; k < 5; k++)
            if (SPI_fnumber(tab->tupdesc, names[k]) != k + 1 || SPI_gettypeid(tab->tupdesc, k + 1) != types[k])
                ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                                errmsg("htap_capture: htap.ivm_capture_row_statements does not return what this version of "
                                       "the extension reads (column %s)", names[k]),
                                errhint("Install the htap_capture extension of the same HTAP Studio version as the engine.")));
    }
    /* Copied out of SPI's memory: planning below runs with SPI closed. */
    old = MemoryContextSwitchTo(e->cxt);
    views_sql = palloc0(sizeof(char *) * (n + 1));
    events = palloc0(sizeof(char *) * (n + 1));
    ids = palloc0(sizeof(int) * (n + 1));
    indexes = palloc0(sizeof(int) * (n + 1));
    watched = palloc0(sizeof(ArrayType *) * (n + 1));
    for (uint64 i = 0; i < n; i++)
    {
        HeapTuple   row = tab->vals[i];
        bool        isnull;
        Datum       w;

        ids[i] = DatumGetInt32(SPI_getbinval(row, tab->tupdesc, 1, &isnull));
        indexes[i] = DatumGetInt32(SPI_getbinval(row, tab->tupdesc, 2, &isnull));
        events[i] = SPI_getvalue(row, tab->tupdesc, 3);
        views_sql[i] = SPI_getvalue(row, tab->tupdesc, 4);
        w = SPI_getbinval(row, tab->tupdesc, 5, &isnull);
        watched[i] = isnull ? NULL : DatumGetArrayTypePCopy(w);
    }
    MemoryContextSwitchTo(old);
    SPI_finish();

    e->views = MemoryContextAllocZero(e->cxt, sizeof(ViewCapture) * (n + 1));
    for (uint64 i = 0; i < n; i++)
    {
        ViewCapture *v = NULL;
        Target     *t;

        for (int j = 0; j < e->nviews; j++)
            if (e->views[j].view_id == ids[i] && e->views[j].table_index == indexes[i])
                v = &e->views[j];
        if (v == NULL)
        {
            v = &e->views[e->nviews++];
            v->view_id = ids[i];
            v->table_index = indexes[i];
        }
        t = plan_target(e, rel, views_sql[i], ids[i]);
        if (strcmp(events[i], "INSERT") == 0)
            v->ins = t;
        else if (strcmp(events[i], "DELETE") == 0)
            v->del = t;
        else if (strcmp(events[i], "UPDATE_OLD") == 0)
            v->upd_old = t;
        else if (strcmp(events[i], "UPDATE_NEW") == 0)
            v->upd_new = t;
        else
            elog(ERROR, "htap_capture: view %d: unknown capture event %s", ids[i], events[i]);
        if (watched[i] != NULL && v->watched == NULL)
        {
            Datum      *names;
            bool       *nulls;
            int         count;

            deconstruct_array(watched[i], TEXTOID, -1, false, TYPALIGN_INT, &names, &nulls, &count);
            v->watched = MemoryContextAlloc(e->cxt, sizeof(AttrNumber) * (count + 1));
            for (int k = 0; k < count; k++)
            {
                char       *name;
                AttrNumber  att;

                if (nulls[k])
                    elog(ERROR, "htap_capture: view %d: a captured column without a name", ids[i]);
                name = TextDatumGetCString(names[k]);
                att = get_attnum(relid, name);
                if (att <= 0 || att > RelationGetDescr(rel)->natts)
                    elog(ERROR, "htap_capture: view %d: %s has no column %s", ids[i], RelationGetRelationName(rel), name);
                v->watched[v->nwatched++] = att;
            }
        }
    }
    for (int j = 0; j < e->nviews; j++)
        if ((e->views[j].upd_old == NULL) != (e->views[j].upd_new == NULL))
            elog(ERROR, "htap_capture: view %d: an UPDATE capture needs both images", e->views[j].view_id);

    AtEOXact_GUC(true, nest);
    SetUserIdAndSecContext(saveuid, savesec);
}

static Entry *
build_entry(Relation rel, Oid root)
{
    Entry      *e = MemoryContextAllocZero(TopMemoryContext, sizeof(Entry));
    MemoryContext caller = CurrentMemoryContext;
    MemoryContext old;

    e->relid = RelationGetRelid(rel);
    e->root = root;
    e->cxt = AllocSetContextCreate(TopMemoryContext, "htap_capture", ALLOCSET_SMALL_SIZES);
    old = MemoryContextSwitchTo(e->cxt);
    e->estate = CreateExecutorState();
    e->econtext = GetPerTupleExprContext(e->estate);
    MemoryContextSwitchTo(old);
    PG_TRY();
    {
        fill_entry(e, rel, root);
    }
    PG_CATCH();
    {
        /* Out of the contexts that go with the entry first. */
        MemoryContextSwitchTo(caller);
        free_entry(e);
        PG_RE_THROW();
    }
    PG_END_TRY();
    return e;
}

/* build_entry, noting an invalidation of rel or root that comes while it reads and plans. */
static pg_noinline Entry *
build_watched(Relation rel, Oid root)
{
    Entry      *volatile e = NULL;

    building_relid = RelationGetRelid(rel);
    building_root = root;
    building_invalidated = false;
    PG_TRY();
    {
        e = build_entry(rel, root);
    }
    PG_FINALLY();
    {
        building_relid = building_root = InvalidOid;
    }
    PG_END_TRY();
    return e;
}

/*
 * The session's entry for rel (captured as part of root), planned again when stale. *own is
 * set when the caller gets an entry of its own to free: a call nested in one that runs with
 * the stored entry (a capture expression that writes to the table fires the trigger again)
 * must not share its expression state, nor free it.
 */
static pg_noinline Entry *
lookup(Relation rel, Oid root, bool *own)
{
    Oid         relid = RelationGetRelid(rel);
    int         slot = -1;
    Entry      *e;

    *own = false;
    if (!callback_registered)
    {
        CacheRegisterRelcacheCallback(invalidate, (Datum) 0);
        callback_registered = true;
    }
    for (int i = 0; i < nentries; i++)
        if (entries[i]->relid == relid && entries[i]->root == root)
        {
            if (entries[i]->busy > 0)
            {
                *own = true;
                return build_entry(rel, root);
            }
            if (entries[i]->valid)
                return entries[i];
            slot = i;
            break;
        }
    /* Built before it is stored: an error on the way leaves the old entry invalid, not half. */
    e = build_watched(rel, root);
    if (slot >= 0)
    {
        free_entry(entries[slot]);
        entries[slot] = e;
    }
    else
    {
        if (nentries == maxentries)
        {
            maxentries = maxentries ? maxentries * 2 : 8;
            entries = entries ? repalloc(entries, sizeof(Entry *) * maxentries)
                              : MemoryContextAlloc(TopMemoryContext, sizeof(Entry *) * maxentries);
        }
        entries[nentries++] = e;
    }
    e->valid = !building_invalidated;
    return e;
}

/* The delta's row for this changed row, or NULL when the view's filter leaves it out. */
static TupleTableSlot *
compute(Entry *e, Target *t, TupleTableSlot *row)
{
    e->econtext->ecxt_scantuple = row;
    if (t->qual != NULL && !ExecQual(t->qual, e->econtext))
        return NULL;
    return ExecProject(t->proj);
}

static void
insert(Target *t, TupleTableSlot *out)
{
    Relation    delta = table_open(t->delta, RowExclusiveLock);
    TupleDesc   now = RelationGetDescr(delta);

    /* The engine never alters a delta table; someone else did. */
    if (RelationGetForm(delta)->relhasindex || delta->trigdesc != NULL || RelationGetForm(delta)->relrowsecurity
        || (now->constr != NULL && now->constr->num_check > 0))
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("htap_capture: the delta table %s got indexes, triggers, policies or checks, which a row capture "
                               "in C does not maintain; switch the view's capture to mode sql", RelationGetRelationName(delta))));
    if (now->natts != t->deltadesc->natts)
        ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                        errmsg("htap_capture: the delta table %s was altered; disable and enable the view's incremental maintenance",
                               RelationGetRelationName(delta))));
    for (int i = 0; i < now->natts; i++)
        if (TupleDescAttr(now, i)->atttypid != TupleDescAttr(t->deltadesc, i)->atttypid
            || TupleDescAttr(now, i)->attisdropped != TupleDescAttr(t->deltadesc, i)->attisdropped)
            ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
                            errmsg("htap_capture: the delta table %s was altered; disable and enable the view's incremental "
                                   "maintenance", RelationGetRelationName(delta))));
    table_tuple_insert(delta, out, GetCurrentCommandId(true), 0, NULL);
    ExecClearTuple(out);
    table_close(delta, NoLock);
}

/* Whether two computed delta rows are the same but for the clock. */
static bool
same_row(Target *t, TupleTableSlot *a, TupleTableSlot *b)
{
    slot_getallattrs(a);
    slot_getallattrs(b);
    for (int i = 0; i < t->deltadesc->natts; i++)
    {
        Form_pg_attribute att = TupleDescAttr(t->deltadesc, i);

        if (i + 1 == t->clock || att->attisdropped)
            continue;
        if (a->tts_isnull[i] != b->tts_isnull[i])
            return false;
        if (!a->tts_isnull[i] && !datum_image_eq(a->tts_values[i], b->tts_values[i], att->attbyval, att->attlen))
            return false;
    }
    return true;
}

/* Whether an UPDATE left every column the view captures with the same binary image. */
static bool
unchanged(ViewCapture *v, TupleTableSlot *oldrow, TupleTableSlot *newrow, TupleDesc desc)
{
    for (int k = 0; k < v->nwatched; k++)
    {
        AttrNumber  att = v->watched[k];
        Form_pg_attribute a = TupleDescAttr(desc, att - 1);
        bool        n1, n2;
        Datum       d1 = slot_getattr(oldrow, att, &n1);
        Datum       d2 = slot_getattr(newrow, att, &n2);

        if (n1 != n2 || (!n1 && !datum_image_eq(d1, d2, a->attbyval, a->attlen)))
            return false;
    }
    return true;
}

Datum
htap_ivm_capture_row(PG_FUNCTION_ARGS)
{
    TriggerData *td = (TriggerData *) fcinfo->context;
    Relation    rel;
    Entry      *e;
    bool        own;
    Oid         saveuid;
    int         savesec;

    if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_FOR_ROW(td->tg_event) || !TRIGGER_FIRED_AFTER(td->tg_event))
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("htap.ivm_capture_row() must be an AFTER ... FOR EACH ROW trigger")));
    if (td->tg_trigger->tgnargs != 1)
        ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
                        errmsg("htap.ivm_capture_row() takes the captured table's oid as its one argument")));
    rel = td->tg_relation;
    /* A foreign partition's rows change elsewhere: the engine flags its views for a rebuild. */
    if (rel->rd_rel->relkind == RELKIND_FOREIGN_TABLE)
        return PointerGetDatum(NULL);

    e = lookup(rel, atooid(td->tg_trigger->tgargs[0]), &own);
    if (e->nviews == 0)
    {
        if (own)
            free_entry(e);
        return PointerGetDatum(NULL);
    }
    GetUserIdAndSecContext(&saveuid, &savesec);
    SetUserIdAndSecContext(e->owner, savesec | SECURITY_LOCAL_USERID_CHANGE);
    e->busy++;
    PG_TRY();
    {
    for (int j = 0; j < e->nviews; j++)
    {
        ViewCapture *v = &e->views[j];
        TupleTableSlot *out;

        if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
        {
            if (v->ins != NULL && (out = compute(e, v->ins, td->tg_trigslot)) != NULL)
                insert(v->ins, out);
        }
        else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
        {
            if (v->del != NULL && (out = compute(e, v->del, td->tg_trigslot)) != NULL)
                insert(v->del, out);
        }
        else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event) && v->upd_old != NULL
                 && !unchanged(v, td->tg_trigslot, td->tg_newslot, RelationGetDescr(rel)))
        {
            TupleTableSlot *was = compute(e, v->upd_old, td->tg_trigslot);
            TupleTableSlot *now = compute(e, v->upd_new, td->tg_newslot);

            /* A join's dirty key: once, when the row kept its key. */
            if (was != NULL && now != NULL && v->upd_old->delta == v->upd_new->delta && same_row(v->upd_old, was, now))
                now = NULL;
            if (was != NULL)
                insert(v->upd_old, was);
            if (now != NULL)
                insert(v->upd_new, now);
        }
        ResetExprContext(e->econtext);
    }
    }
    PG_FINALLY();
    {
        e->busy--;
        if (own)
            free_entry(e);
    }
    PG_END_TRY();
    SetUserIdAndSecContext(saveuid, savesec);
    return PointerGetDatum(NULL);
}

/* Plans the capture for every table under root that row triggers fire on; errors say why not. */
Datum
htap_ivm_capture_row_check(PG_FUNCTION_ARGS)
{
    Oid         root = PG_GETARG_OID(0);
    List       *members = find_all_inheritors(root, AccessShareLock, NULL);
    ListCell   *lc;
    int         planned = 0;

    foreach(lc, members)
    {
        Oid         relid = lfirst_oid(lc);
        Relation    rel = table_open(relid, AccessShareLock);

        if (rel->rd_rel->relkind == RELKIND_RELATION)
        {
            Entry      *e = build_entry(rel, root);

            for (int j = 0; j < e->nviews; j++)
                planned += (e->views[j].ins != NULL) + (e->views[j].del != NULL) + (e->views[j].upd_old != NULL)
                    + (e->views[j].upd_new != NULL);
            free_entry(e);
        }
        table_close(rel, AccessShareLock);
    }
    PG_RETURN_INT32(planned);
}

/* Every session plans the row capture of root and its members again, from the registry. */
Datum
htap_ivm_capture_row_reset(PG_FUNCTION_ARGS)
{
    Oid         root = PG_GETARG_OID(0);
    List       *members = find_all_inheritors(root, NoLock, NULL);
    ListCell   *lc;

    foreach(lc, members)
        CacheInvalidateRelcacheByRelid(lfirst_oid(lc));
    PG_RETURN_VOID();
}
