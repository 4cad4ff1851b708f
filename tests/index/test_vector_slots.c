/* The model switch of the persisted vector index (index_vector.h): a slot
 * for a new model (other dims) built in steps beside the live one, with
 * searches of the live model and a delete between steps and a step rolled
 * back; the atomic switch; the old slot's rows deleted in bounded steps
 * with searches between them; and kill -9 of a process whose step switches,
 * before its commit: the old slot stays live and complete, the build
 * resumes from the last committed step. Seed: LORE_TEST_SEED, printed. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "vector_store_fixture.h"

#define D2 16
static const char *KEY2 = "http://e|m2|16";

/* One build step of the new handle: chunks (lo, hi] that are live. */
static void build_step(env *e, const float *W, int64_t lo, int64_t hi, int copied_all, int *fin,
                       int commit) {
    CHECK_INT(store_begin(e->t), LORE_OK);
    CHECK_INT(ops->begin(e->x), LORE_OK);
    for (int64_t id = lo + 1; id <= hi; id++)
        if (id != 5 && id != 50 && (id < 101 || id > 300))
            CHECK_INT(ops->add(e->x, id, W + (id - 1) * D2), LORE_OK);
    CHECK_INT(ops->rebuild_step(e->x, hi, copied_all, 64, fin), LORE_OK);
    if (commit) {
        CHECK_INT(ops->flush(e->x), LORE_OK);
        CHECK_INT(store_commit(e->t), LORE_OK);
    } else {
        ops->abort(e->x);
        store_rollback(e->t);
    }
}

/* Runs the switch's deletion steps (64 rows each) with a search between
 * them until finished; returns the number of steps. */
static int delete_old_slot(env *nw, const float *W, int *fin) {
    int steps = 0, searches_ok = 1;
    while (!*fin && steps < 10000) {
        CHECK_INT(store_begin(nw->t), LORE_OK);
        CHECK_INT(ops->begin(nw->x), LORE_OK);
        CHECK_INT(ops->rebuild_step(nw->x, 0, 0, 64, fin), LORE_OK);
        CHECK_INT(ops->flush(nw->x), LORE_OK);
        CHECK_INT(store_commit(nw->t), LORE_OK);
        vec_hit h[K];
        searches_ok &= search(nw, W + steps % N * D2, K, h) == K;
        steps++;
    }
    CHECK(*fin);
    CHECK(searches_ok);
    CHECK(steps > 10); /* bounded: 64 rows a step */
    CHECK_INT(count_rows(nw->t, STORE_NS_VECTOR_NODES_A), 0);
    CHECK_INT(count_rows(nw->t, STORE_NS_VECTOR_FLOATS_A), 0);
    CHECK_INT(count_rows(nw->t, STORE_NS_VECTOR_META_A), 0);
    return steps;
}

/* kill -9 of a process whose step switches slots, before its commit: the
 * old slot stays live and complete, the build resumes from the last
 * committed step, and another process can finish the switch. */
static void test_kill9_switch(void) {
    int pfd[2];
    CHECK_INT(pipe(pfd), 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        test_failed = 0;
        close(pfd[0]);
        env c;
        env_open(&c, KEY1, D); /* switch back to the first model */
        CHECK_INT(store_begin(c.t), LORE_OK);
        CHECK_INT(ops->begin(c.x), LORE_OK);
        CHECK_INT(ops->rebuild_start(c.x), LORE_OK);
        for (int64_t id = 1; id <= 100; id++)
            CHECK_INT(ops->add(c.x, id, V + (id - 1) * D), LORE_OK);
        int fin = 0;
        CHECK_INT(ops->rebuild_step(c.x, 100, 0, 64, &fin), LORE_OK);
        CHECK_INT(ops->flush(c.x), LORE_OK);
        CHECK_INT(store_commit(c.t), LORE_OK);
        CHECK_INT(store_begin(c.t), LORE_OK);
        CHECK_INT(ops->begin(c.x), LORE_OK);
        for (int64_t id = 101; id <= 200; id++)
            CHECK_INT(ops->add(c.x, id, V + (id - 1) * D), LORE_OK);
        CHECK_INT(ops->rebuild_step(c.x, 200, 1, 64, &fin), LORE_OK); /* the switch */
        CHECK_INT(ops->flush(c.x), LORE_OK);
        char ok = test_failed ? 'F' : 'R';
        if (write(pfd[1], &ok, 1) != 1) _exit(3);
        for (;;)
            pause();
    }
    close(pfd[1]);
    char c = 0;
    CHECK(read(pfd[0], &c, 1) == 1 && c == 'R');
    close(pfd[0]);
    kill(pid, SIGKILL);
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status));
    env live, b;
    env_open(&live, KEY2, D2);
    env_open(&b, KEY1, D);
    vec_rebuild_status rs;
    CHECK_INT(ops->rebuild_status(b.x, &rs), LORE_OK);
    CHECK_INT(rs.phase, VEC_REBUILD_COPYING);
    CHECK_STR(rs.live_key, KEY2);
    CHECK_INT(rs.cursor, 100);
    CHECK_INT(rs.build_vectors, 100); /* the committed step's, none of the killed one's */
    vec_stats st;
    stats(&live, &st);
    CHECK_INT(st.live, N - 1 - 1 - 200 - 1); /* the live slot untouched */
    int fin = 0;                             /* finish the switch here */
    CHECK_INT(store_begin(b.t), LORE_OK);
    CHECK_INT(ops->begin(b.x), LORE_OK);
    CHECK_INT(ops->rebuild_step(b.x, 100, 1, 100000, &fin), LORE_OK);
    CHECK_INT(ops->flush(b.x), LORE_OK);
    CHECK_INT(store_commit(b.t), LORE_OK);
    CHECK(fin);
    stats(&b, &st);
    CHECK_INT(st.slot, 'A');
    CHECK_INT(st.live, 100);
    vec_query q = {.vec = V, .k = K};
    vec_result r;
    CHECK_INT(ops->search(live.x, &q, &r), LORE_NOT_FOUND);
    CHECK_INT(count_rows(b.t, STORE_NS_VECTOR_NODES_B), 0);
    env_close(&b);
    env_close(&live);
}

static void test_switch(void) {
    env old, nw;
    env_open(&old, KEY1, D);
    env_open(&nw, KEY2, D2);
    float *W = malloc((size_t)N * D2 * sizeof *W);
    fill(W, N, D2);
    vec_query q2 = {.vec = W, .k = K};
    vec_result r;
    CHECK_INT(ops->search(nw.x, &q2, &r), LORE_NOT_FOUND); /* no slot for the new model yet */
    CHECK_INT(store_begin(nw.t), LORE_OK);
    CHECK_INT(ops->begin(nw.x), LORE_OK);
    CHECK_INT(ops->add(nw.x, 1, W), LORE_INVALID); /* not before the build starts */
    CHECK_INT(ops->rebuild_start(nw.x), LORE_OK);
    CHECK_INT(ops->flush(nw.x), LORE_OK);
    CHECK_INT(store_commit(nw.t), LORE_OK);
    vec_rebuild_status rs;
    CHECK_INT(ops->rebuild_status(old.x, &rs), LORE_OK);
    CHECK_INT(rs.phase, VEC_REBUILD_COPYING);
    CHECK_INT(rs.live_slot, 'A');
    CHECK_INT(rs.build_slot, 'B');
    CHECK_STR(rs.build_key, KEY2);
    int fin = 0, searches_ok = 1;
    int64_t cursor = 0;
    for (int step = 0; cursor < N; step++) {
        int64_t hi = cursor + 150 > N ? N : cursor + 150;
        if (step == 2) { /* a rolled-back step leaves the build where it was */
            build_step(&nw, W, cursor, hi, 0, &fin, 0);
            CHECK_INT(ops->rebuild_status(nw.x, &rs), LORE_OK);
            CHECK_INT(rs.cursor, cursor);
        }
        build_step(&nw, W, cursor, hi, hi == N, &fin, 1);
        cursor = hi;
        if (step == 1) { /* the live model's handle deletes a chunk already copied */
            CHECK_INT(store_begin(old.t), LORE_OK);
            CHECK_INT(ops->begin(old.x), LORE_OK);
            CHECK_INT(ops->remove(old.x, 40), LORE_OK);
            CHECK_INT(ops->flush(old.x), LORE_OK);
            CHECK_INT(store_commit(old.t), LORE_OK);
        }
        if (cursor < N) {
            vec_hit h[K];
            searches_ok &= search(&old, V + step * D, K, h) == K; /* the old slot serves */
            CHECK_INT(ops->rebuild_status(old.x, &rs), LORE_OK);
            searches_ok &= rs.cursor == cursor && rs.phase == VEC_REBUILD_COPYING;
        }
    }
    CHECK(searches_ok);
    /* switched: the old model has no slot, the new one serves */
    vec_query q1 = {.vec = V, .k = K};
    CHECK_INT(ops->search(old.x, &q1, &r), LORE_NOT_FOUND);
    CHECK_INT(present(&nw, 40, W + 39 * D2), 0);
    CHECK_INT(present(&nw, 41, W + 40 * D2), 1);
    vec_stats st;
    stats(&nw, &st);
    CHECK_INT(st.slot, 'B');
    CHECK_INT(st.live, N - 1 - 1 - 200 - 1); /* less 5, 50 (never added), 101..300 and 40 */
    int steps = delete_old_slot(&nw, W, &fin);
    CHECK_INT(ops->rebuild_status(old.x, &rs), LORE_OK);
    CHECK_INT(rs.phase, VEC_REBUILD_NONE);
    CHECK_STR(rs.live_key, KEY2);
    CHECK_INT(rs.live_slot, 'B');
    printf("switch: built in steps of 150, old slot deleted in %d steps of 64 rows\n", steps);
    free(W);
    env_close(&nw);
    env_close(&old);
}

/* Threads: two searchers, each with its own handle on the one shared graph,
 * search without pause while a third thread's batches commit. */
int main(void) {
    fixture_setup();
    env e;
    env_open(&e, KEY1, D);
    for (size_t lo = 0; lo < N; lo += 200)
        add_range(&e, lo, lo + 200);
    CHECK_INT(store_begin(e.t), LORE_OK); /* the state the switch starts from */
    CHECK_INT(ops->begin(e.x), LORE_OK);
    CHECK_INT(ops->remove(e.x, 5), LORE_OK);
    for (int64_t id = 101; id <= 300; id++)
        CHECK_INT(ops->remove(e.x, id), LORE_OK);
    CHECK_INT(ops->flush(e.x), LORE_OK);
    CHECK_INT(store_commit(e.t), LORE_OK);
    env_close(&e);
    test_switch();
    test_kill9_switch();
    fixture_teardown();
    return test_summary();
}
