/*
 * The record path's delivery protocol, as kiosk/store, kiosk/uplink and
 * gateway/ingest implement it (see doc.go for what is modelled and what
 * is not).
 *
 * One station makes N taps. Each confirmed tap is one record in the
 * kiosk's outbox (a bbolt transaction: the record is durable before the
 * screen confirms). The uplink keeps at most one batch in flight: the
 * oldest B records of the outbox. The gateway commits a batch in one
 * transaction, skipping IDs already stored, and only then publishes an
 * ack naming every record of the batch. Only an ack deletes from the
 * outbox; an ack naming records no longer there changes nothing.
 *
 * Faults, each bounded so that the outbox can be required to empty:
 * the network loses, duplicates and reorders batches and acks (both ways
 * are bags: any message present may be delivered next); the kiosk loses
 * power (its batch in flight is forgotten; the outbox is on disk; the
 * broker keeps its persistent session, so acks on their way still
 * arrive); the gateway restarts (a batch taken but not committed, or
 * committed but not acked, is forgotten; the database keeps what was
 * committed); an ack timer fires while the ack is still on its way.
 * A timer that fires because nothing else can happen (Promela's
 * timeout) is unbounded: that is the kiosk's ack timeout.
 *
 * Variants, by -D at `spin -a`:
 *   ACK_BEFORE_COMMIT  the gateway publishes the ack, then commits
 *   NO_DEDUP           the gateway inserts every record of a batch, even
 *                      an ID already stored
 */

#ifndef N
#define N 3             /* taps (records) */
#endif
#ifndef B
#define B 2             /* records per batch at most (wire.MaxBatchRecords) */
#endif
#define SLOTS 2         /* messages on their way in each direction */
#ifndef LOSS
#define LOSS 2          /* messages the network loses */
#endif
#ifndef DUPS
#define DUPS 1          /* messages the network delivers twice */
#endif
#ifndef KCRASH
#define KCRASH 1        /* kiosk power cuts */
#endif
#ifndef GCRASH
#define GCRASH 1        /* gateway restarts */
#endif
#ifndef EARLY
#define EARLY 1         /* ack timers firing while the ack is on its way */
#endif

#define ALL ((1 << N) - 1)

/* A message (batch or ack) is the set of its record IDs as a bit mask;
 * record i has seq i+1. 0 is an empty slot. */
byte up[SLOTS];         /* batches, kiosk → broker → gateway */
byte down[SLOTS];       /* acks, gateway → broker → kiosk */

/* The kiosk's bbolt file. */
byte made = 0;          /* taps confirmed so far: records 0..made-1 */
byte outbox = 0;        /* records in the outbox */
/* The uplink's memory. */
byte cur = 0;           /* records of the batch in flight not yet acked */
/* The database. */
byte stored[N];         /* times each record ID was inserted */

byte lost = 0, dups = 0, kcrash = 0, gcrash = 0, early = 0;

/* held: a confirmed record is always somewhere durable, the outbox or
 * the database (the guarantee a power cut anywhere must not break). */
#define held(i) (made <= i || (outbox & (1 << i)) != 0 || stored[i] > 0)
#define once(i) (stored[i] <= 1)

/* send m into a free slot of its direction; a full direction drops it
 * (the broker's queue overflowed: a resend covers it, as for a loss). */
inline putup(m) {
	if
	:: up[0] == 0 -> up[0] = m
	:: else ->
		if
		:: up[1] == 0 -> up[1] = m
		:: else -> skip
		fi
	fi
}

inline putdown(m) {
	if
	:: down[0] == 0 -> down[0] = m
	:: else ->
		if
		:: down[1] == 0 -> down[1] = m
		:: else -> skip
		fi
	fi
}

/* head: the oldest B records of the outbox (uplink.publishHead). */
inline head(h) {
	h = 0; k = 0; j = 0;
	do
	:: j < N && k < B ->
		if
		:: outbox & (1 << j) -> h = h | (1 << j); k++
		:: else -> skip
		fi;
		j++
	:: else -> break
	od
}

/* The uplink (uplink.session) and the taps that fill its outbox. */
active proctype Kiosk() {
	byte h, k, j, a;
end:
	do
	/* A tap: record and session change in one transaction. */
	:: atomic { made < N -> outbox = outbox | (1 << made); made++ }
	/* Nothing in flight and something to send: on connecting, on
	 * Appended, after an ack emptied the batch. */
	:: atomic { cur == 0 && outbox != 0 -> head(h); cur = h; putup(h) }
	/* The ack timer: the head of the outbox again. */
	:: atomic { cur != 0 && early < EARLY -> early++; head(h); cur = h; putup(h) }
	:: atomic { timeout && cur != 0 -> head(h); cur = h; putup(h) }
	/* An ack (any on its way: reordering). Store.Ack deletes only IDs
	 * the outbox holds; the rest of the ack changes nothing. */
	:: atomic { down[0] != 0 -> a = down[0]; down[0] = 0; outbox = outbox & ~a; cur = cur & ~a }
	:: atomic { down[1] != 0 -> a = down[1]; down[1] = 0; outbox = outbox & ~a; cur = cur & ~a }
	/* A power cut: the uplink's memory is gone, the file is not. It
	 * reconnects and sends the head (the send above). */
	:: atomic { kcrash < KCRASH -> kcrash++; cur = 0 }
	od
}

/* commit: one transaction (store.Ingest): every ID not yet stored is
 * inserted, in the batch's order. The records of a station reach the
 * database in sequence: none before a record with a lower seq. */
inline commit(m) {
	j = 0;
	do
	:: j < N ->
		if
		:: m & (1 << j) ->
#ifdef NO_DEDUP
			stored[j]++;
#else
			if
			:: stored[j] == 0 -> stored[j] = 1
			:: else -> skip
			fi;
#endif
			k = 0;
			do
			:: k < j -> assert(stored[k] > 0); k++
			:: else -> break
			od
		:: else -> skip
		fi;
		j++
	:: else -> break
	od
}

/* The gateway (Gateway.process): take a batch, commit it, ack it. It may
 * restart between any two steps, forgetting the batch it holds. */
#define restart if :: gcrash < GCRASH -> gcrash++; goto idle :: true -> skip fi

active proctype Gateway() {
	byte m, j, k;
end:
idle:
	if
	:: atomic { up[0] != 0 -> m = up[0]; up[0] = 0 }
	:: atomic { up[1] != 0 -> m = up[1]; up[1] = 0 }
	fi;
	restart;
#ifdef ACK_BEFORE_COMMIT
	atomic { putdown(m) };
	restart;
	atomic { commit(m) };
#else
	atomic { commit(m) };
	restart;
	atomic { putdown(m) };
#endif
	goto idle
}

/* The network and the broker: a message on its way is lost, or delivered
 * twice. */
active proctype Net() {
end:
	do
	:: atomic { lost < LOSS && up[0] != 0 -> lost++; up[0] = 0 }
	:: atomic { lost < LOSS && up[1] != 0 -> lost++; up[1] = 0 }
	:: atomic { lost < LOSS && down[0] != 0 -> lost++; down[0] = 0 }
	:: atomic { lost < LOSS && down[1] != 0 -> lost++; down[1] = 0 }
	:: atomic { dups < DUPS && up[0] != 0 && up[1] == 0 -> dups++; up[1] = up[0] }
	:: atomic { dups < DUPS && up[1] != 0 && up[0] == 0 -> dups++; up[0] = up[1] }
	:: atomic { dups < DUPS && down[0] != 0 && down[1] == 0 -> dups++; down[1] = down[0] }
	:: atomic { dups < DUPS && down[1] != 0 && down[0] == 0 -> dups++; down[0] = down[1] }
	od
}

/* Every confirmed record is always in the outbox or in the database, and
 * no record ID is stored twice. */
ltl safe { [] (held(0) && held(1) && held(2) && once(0) && once(1) && once(2)) }

/* The outbox empties: every tap made, every record out of the outbox
 * (and so, by safe, stored exactly once). */
ltl drains { <> (made == N && outbox == 0) }
