//! One collector that does a whole search in a single pass over the matching
//! documents: counts them, keeps the top `offset + limit` by relevance or date,
//! tallies facets, and stops when the time budget is spent (tantivy has no
//! timeout of its own).

use std::cmp::{Ordering, Reverse};
use std::collections::{BinaryHeap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::time::Instant;

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::{EnableScoring, Query, Weight};
use tantivy::{
    DocAddress, DocId, DocSet, Score, Searcher, SegmentOrdinal, SegmentReader, TERMINATED,
};

use crate::date::year_month;
use crate::schema::{CC_ADDR, DATE, FROM_ADDR, ID, TO_ADDR};
use crate::search::Sort;

/// How many documents are visited between two clock reads.
const CHECK_EVERY: u32 = 1024;

/// A candidate hit.
#[derive(Debug, Clone)]
pub(crate) struct Cand {
    key: f64,
    pub id: u64,
    pub score: Score,
    pub date: Option<i64>,
    pub doc: DocAddress,
}

impl PartialEq for Cand {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Cand {
    /// Greater is better: higher key, then higher id.
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.total_cmp(&other.key).then(self.id.cmp(&other.id))
    }
}

/// Everything one search gathers.
#[derive(Debug, Default)]
pub(crate) struct Gathered {
    pub total: u64,
    /// Best first.
    pub top: Vec<Cand>,
    pub senders: HashMap<String, u64>,
    pub recipients: HashMap<String, u64>,
    pub months: HashMap<(i64, u32), u64>,
}

pub(crate) struct MainCollector {
    pub sort: Sort,
    pub keep: usize,
    pub facets: bool,
    pub deadline: Instant,
    pub timed_out: AtomicBool,
}

/// One facet's address column with a count per term ordinal.
type FacetCounts = (StrColumn, Vec<u32>);

pub(crate) struct SegCollector {
    seg: SegmentOrdinal,
    sort: Sort,
    keep: usize,
    date: Column<i64>,
    id: Column<u64>,
    /// From, To and Cc address columns with a count per term ordinal, only when facets
    /// are wanted (a flat array: cheaper per document than a hash map).
    facet_cols: Option<[Option<FacetCounts>; 3]>,
    heap: BinaryHeap<Reverse<Cand>>,
    total: u64,
    months: HashMap<(i64, u32), u64>,
    /// Run of equal months (documents arrive roughly in date order).
    month_run: Option<((i64, u32), u64)>,
}

impl Collector for MainCollector {
    type Fruit = Gathered;
    type Child = SegCollector;

    fn for_segment(
        &self,
        seg: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<SegCollector> {
        let ff = reader.fast_fields();
        let facet_cols = if self.facets {
            let col = |name| -> tantivy::Result<_> {
                Ok(ff.str(name)?.map(|c| {
                    let n = c.num_terms();
                    (c, vec![0u32; n])
                }))
            };
            Some([col(FROM_ADDR)?, col(TO_ADDR)?, col(CC_ADDR)?])
        } else {
            None
        };
        Ok(SegCollector {
            seg,
            sort: self.sort,
            keep: self.keep,
            date: ff.i64(DATE)?,
            id: ff.u64(ID)?,
            facet_cols,
            heap: BinaryHeap::new(),
            total: 0,
            months: HashMap::new(),
            month_run: None,
        })
    }

    fn requires_scoring(&self) -> bool {
        self.sort == Sort::Relevance
    }

    fn merge_fruits(&self, fruits: Vec<Gathered>) -> tantivy::Result<Gathered> {
        let mut all = Gathered::default();
        for f in fruits {
            all.total += f.total;
            all.top.extend(f.top);
            for (k, v) in f.senders {
                *all.senders.entry(k).or_default() += v;
            }
            for (k, v) in f.recipients {
                *all.recipients.entry(k).or_default() += v;
            }
            for (k, v) in f.months {
                *all.months.entry(k).or_default() += v;
            }
        }
        all.top.sort_by(|a, b| b.cmp(a));
        all.top.truncate(self.keep);
        Ok(all)
    }

    /// Drives the segment's scorer itself so it can stop at the deadline.
    fn collect_segment(
        &self,
        weight: &dyn Weight,
        seg: u32,
        reader: &SegmentReader,
    ) -> tantivy::Result<Gathered> {
        let mut c = self.for_segment(seg, reader)?;
        if Instant::now() >= self.deadline {
            self.timed_out.store(true, AtomicOrdering::Relaxed);
            return Ok(c.harvest());
        }
        let scoring = self.requires_scoring();
        let mut scorer = weight.scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut doc = scorer.doc();
        let mut visited = 0u32;
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                let score = if scoring { scorer.score() } else { 0.0 };
                c.collect(doc, score);
            }
            visited += 1;
            if visited.is_multiple_of(CHECK_EVERY) && Instant::now() >= self.deadline {
                self.timed_out.store(true, AtomicOrdering::Relaxed);
                break;
            }
            doc = scorer.advance();
        }
        Ok(c.harvest())
    }
}

impl SegmentCollector for SegCollector {
    type Fruit = Gathered;

    fn collect(&mut self, doc: DocId, score: Score) {
        self.total += 1;
        let mut date = None;
        if self.keep > 0 {
            let full = self.heap.len() >= self.keep;
            let key = match self.sort {
                Sort::Relevance => f64::from(score),
                Sort::Date => {
                    let d = self.date.first(doc);
                    date = Some(d);
                    d.map_or(f64::MIN, |d| d as f64)
                }
            };
            // Most documents lose to the worst kept one on the key alone: skip reading
            // their id (needed only to break ties) and date.
            let worst = self.heap.peek().map(|Reverse(w)| w.key);
            if !full || worst.is_some_and(|w| key >= w) {
                let d = *date.get_or_insert_with(|| self.date.first(doc));
                let cand = Cand {
                    key,
                    id: self.id.first(doc).unwrap_or(0),
                    score,
                    date: d,
                    doc: DocAddress::new(self.seg, doc),
                };
                if !full {
                    self.heap.push(Reverse(cand));
                } else if self.heap.peek().is_some_and(|Reverse(w)| cand > *w) {
                    self.heap.pop();
                    self.heap.push(Reverse(cand));
                }
            }
        }
        if let Some(cols) = &mut self.facet_cols {
            for (col, counts) in cols.iter_mut().flatten() {
                for ord in col.term_ords(doc) {
                    if let Some(n) = counts.get_mut(ord as usize) {
                        *n += 1;
                    }
                }
            }
            if let Some(d) = date.unwrap_or_else(|| self.date.first(doc)) {
                let ym = year_month(d);
                match &mut self.month_run {
                    Some((m, n)) if *m == ym => *n += 1,
                    run => {
                        if let Some((m, n)) = run.replace((ym, 1)) {
                            *self.months.entry(m).or_default() += n;
                        }
                    }
                }
            }
        }
    }

    fn harvest(mut self) -> Gathered {
        if let Some((m, n)) = self.month_run.take() {
            *self.months.entry(m).or_default() += n;
        }
        let mut g = Gathered {
            total: self.total,
            top: self.heap.into_iter().map(|Reverse(c)| c).collect(),
            months: self.months,
            ..Gathered::default()
        };
        if let Some([from, to, cc]) = self.facet_cols {
            resolve(from, &mut g.senders);
            resolve(to, &mut g.recipients);
            resolve(cc, &mut g.recipients);
        }
        g
    }
}

/// Turns per-segment counts by term ordinal into counts by address, reading the
/// column's dictionary once in order (a lookup per ordinal would decode a block each).
fn resolve(col: Option<(StrColumn, Vec<u32>)>, into: &mut HashMap<String, u64>) {
    let Some((col, counts)) = col else { return };
    let ords: Vec<u64> = (0..counts.len() as u64)
        .filter(|&o| counts[o as usize] > 0)
        .collect();
    let mut it = ords.iter();
    // An unreadable dictionary (a damaged index) leaves those addresses out of the facets,
    // as before; the hits themselves do not depend on it.
    let _ = col.dictionary().sorted_ords_to_term_cb(&ords, |term| {
        if let Some(&o) = it.next() {
            let n = u64::from(counts[o as usize]);
            *into
                .entry(String::from_utf8_lossy(term).into_owned())
                .or_default() += n;
        }
    });
}

/// Collects the id of every matching document (for [`crate::Index::search_ids`]).
pub(crate) struct IdCollector;

pub(crate) struct IdSegCollector {
    id: Column<u64>,
    ids: Vec<u64>,
}

impl Collector for IdCollector {
    type Fruit = Vec<u64>;
    type Child = IdSegCollector;

    fn for_segment(
        &self,
        _seg: SegmentOrdinal,
        reader: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(IdSegCollector {
            id: reader.fast_fields().u64(ID)?,
            ids: Vec::new(),
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<u64>>) -> tantivy::Result<Vec<u64>> {
        Ok(fruits.concat())
    }
}

impl SegmentCollector for IdSegCollector {
    type Fruit = Vec<u64>;

    fn collect(&mut self, doc: DocId, _score: Score) {
        if let Some(id) = self.id.first(doc) {
            self.ids.push(id);
        }
    }

    fn harvest(self) -> Vec<u64> {
        self.ids
    }
}

/// The top `keep` documents by relevance and the exact number of matches, for searches
/// without facets: the count comes from a weight without scoring (a single term's count is
/// its document frequency; a conjunction or union iterates doc ids only) and the top hits
/// from block-max WAND, which skips blocks of postings that cannot beat the worst kept hit.
/// Only for queries whose work is bounded by their posting lists (no phrases or prefixes):
/// tantivy's pruning loop has no deadline check, so the budget is checked per segment.
pub(crate) fn top_by_relevance(
    searcher: &Searcher,
    query: &dyn Query,
    keep: usize,
    deadline: Instant,
    timed_out: &AtomicBool,
) -> tantivy::Result<Gathered> {
    let scored = query.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let unscored = query.weight(EnableScoring::disabled_from_searcher(searcher))?;
    let mut total = 0u64;
    let mut heap: BinaryHeap<Reverse<Cand>> = BinaryHeap::with_capacity(keep + 1);
    for (seg, reader) in searcher.segment_readers().iter().enumerate() {
        if Instant::now() >= deadline {
            timed_out.store(true, AtomicOrdering::Relaxed);
            break;
        }
        total += u64::from(unscored.count(reader)?);
        if keep == 0 {
            continue;
        }
        let ff = reader.fast_fields();
        let (ids, dates) = (ff.u64(ID)?, ff.i64(DATE)?);
        let alive = reader.alive_bitset();
        // Pruning passes on documents scoring strictly above the threshold; start just
        // below the worst kept score so that ties are still broken by id, exactly as the
        // full scan ([`MainCollector`]) breaks them.
        let threshold = |heap: &BinaryHeap<Reverse<Cand>>| {
            if heap.len() >= keep {
                heap.peek()
                    .map_or(Score::MIN, |Reverse(w)| w.score.next_down())
            } else {
                Score::MIN
            }
        };
        let start = threshold(&heap);
        scored.for_each_pruning(start, reader, &mut |doc, score| {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                let cand = Cand {
                    key: f64::from(score),
                    id: ids.first(doc).unwrap_or(0),
                    score,
                    date: dates.first(doc),
                    doc: DocAddress::new(seg as SegmentOrdinal, doc),
                };
                if heap.len() < keep {
                    heap.push(Reverse(cand));
                } else if heap.peek().is_some_and(|Reverse(w)| cand > *w) {
                    heap.pop();
                    heap.push(Reverse(cand));
                }
            }
            threshold(&heap)
        })?;
    }
    let mut top: Vec<Cand> = heap.into_iter().map(|Reverse(c)| c).collect();
    top.sort_by(|a, b| b.cmp(a));
    Ok(Gathered {
        total,
        top,
        ..Gathered::default()
    })
}
