//! `tokenize`: byte-pair encoding, as in front of an LLM or an embedding model in a RAG service.
//! One unit = encode one sentence (10-20 words) of the standard input, a user query followed by
//! a retrieved manual passage (`PASSAGE`, 16 sentences: one whole job). The vocabulary
//! (512 tokens) is trained once, at first use, on an embedded corpus of 4.5 KB of English.
//!
//! Pieces: a word with at most one leading space (GPT-2 style), or any other single char, so
//! that `decode(encode(t)) == t` whenever every char of `t` is in the base alphabet
//! (printable ASCII and `\n`). Other chars become [`UNK`].

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::hint::black_box;
use std::sync::OnceLock;

/// The id of the unknown-char token; it decodes to U+FFFD.
pub const UNK: u32 = 0;
const UNK_STR: &str = "\u{FFFD}";

/// Vocabulary size of the standard tokenizer (base alphabet + merges).
pub const STANDARD_VOCAB: usize = 512;

const CORPUS: &str = include_str!("tokenize_corpus.txt");

/// The standard input: a RAG query, then the passage retrieved for it; one sentence per unit.
pub const PASSAGE: [&str; 16] = [
    "Question: why does the conveyor belt on dock 3 slip after the motor was serviced last week?",
    "\n\nContext: The belt tension must be adjusted when the belt is cold, never straight after a run.",
    " Loosen the lock nuts on both sides of the tail pulley before turning the adjusting screws.",
    " Turn both screws by the same amount, half a turn at a time, and check the tracking.",
    " A belt that is too loose slips on the drive pulley, heats up and wears quickly.",
    " A belt that is too tight overloads the bearings and draws more current from the motor.",
    " After servicing the motor, check that the drive pulley was refitted in line with the tail pulley.",
    " A misaligned pulley pushes the belt to one side, where it rubs against the frame and slips.",
    " Measure the vibration at the motor bearing and compare it with the value recorded at installation.",
    " If the bearing temperature rises above seventy degrees, stop the motor and check the lubrication.",
    " Replace the bearing when its vibration reaches twice the installation value or it sounds higher pitched.",
    " Run the belt empty for ten minutes after every adjustment, then check the tension again.",
    " Record the new tension, the date and your name in the maintenance log of the conveyor.",
    "\n\nAnswer the question using only the context above, in at most three short sentences.",
    " If the context does not explain the fault, say that you do not know and suggest a check.",
    " Cite the sentence of the manual that supports each step of your answer.",
];

/// Units in one whole job (the full query + passage).
pub const UNITS_PER_JOB: u64 = PASSAGE.len() as u64;

/// A BPE tokenizer: a base alphabet of single chars, and ranked merges of token pairs.
#[derive(Debug, Clone)]
pub struct Tokenizer {
    /// id -> token text; id 0 is [`UNK`].
    tokens: Vec<String>,
    ids: HashMap<String, u32>,
    /// Base ids of ASCII chars (UNK if absent); other chars go through `ids`.
    ascii: [u32; 128],
    /// (left, right) -> (rank, merged id); lower rank merges first.
    merges: PairMap<(u32, u32)>,
}

impl Tokenizer {
    /// A tokenizer from a base alphabet and merges in rank order, each merge naming two
    /// existing tokens. Fails on a merge that names an unknown token.
    pub fn from_merges(alphabet: &str, merges: &[(&str, &str)]) -> Result<Self, super::ShapeError> {
        let mut t = Tokenizer::with_alphabet(alphabet);
        for &(a, b) in merges {
            match (t.id(a), t.id(b)) {
                (Some(l), Some(r)) => t.add_merge(l, r),
                _ => {
                    return Err(super::ShapeError::Invalid {
                        what: "BPE merge",
                        reason: "a merge names a token that is not in the vocabulary",
                    })
                }
            }
        }
        Ok(t)
    }

    /// Learns merges on `corpus` until the vocabulary has `vocab_size` tokens or no pair of
    /// tokens occurs twice. Ties between equally frequent pairs go to the smaller id pair,
    /// so the result depends on the inputs only. Pair counts are updated incrementally (only
    /// the words that hold the merged pair are recounted), the best pair kept in a heap.
    pub fn train(corpus: &str, alphabet: &str, vocab_size: usize) -> Self {
        let mut t = Tokenizer::with_alphabet(alphabet);
        let mut counts: HashMap<&str, i64> = HashMap::new();
        for piece in pieces(corpus) {
            *counts.entry(piece).or_default() += 1;
        }
        let mut words: Vec<(&str, i64)> = counts.into_iter().collect();
        words.sort_unstable();
        let mut words: Vec<(Vec<u32>, i64)> =
            words.into_iter().map(|(w, c)| (w.chars().map(|ch| t.char_id(ch)).collect(), c)).collect();

        let mut pairs: PairMap<i64> = PairMap::default();
        for (syms, c) in &words {
            add_pairs(&mut pairs, syms, *c);
        }
        // (count, smaller pair first); stale entries are skipped when popped.
        let mut heap: BinaryHeap<(i64, Reverse<u64>)> = pairs.iter().map(|(&k, &n)| (n, Reverse(k))).collect();
        while t.tokens.len() < vocab_size {
            let Some((n, Reverse(key))) = heap.pop() else { break };
            if pairs.get(&key) != Some(&n) {
                continue;
            }
            if n < 2 {
                break;
            }
            let (l, r) = ((key >> 32) as u32, key as u32);
            t.add_merge(l, r);
            let Some(&(_, new)) = t.merges.get(&key) else { break };
            let mut changed: Vec<u64> = Vec::new();
            for (syms, c) in &mut words {
                if !syms.windows(2).any(|w| w[0] == l && w[1] == r) {
                    continue;
                }
                // Pairs that disappear and pairs that appear both change counts.
                changed.extend(syms.windows(2).map(|w| pair_key(w[0], w[1])));
                add_pairs(&mut pairs, syms, -*c);
                merge_all(syms, l, r, new);
                add_pairs(&mut pairs, syms, *c);
                changed.extend(syms.windows(2).map(|w| pair_key(w[0], w[1])));
            }
            pairs.remove(&key);
            changed.sort_unstable();
            changed.dedup();
            for k in changed {
                if let Some(&n) = pairs.get(&k) {
                    heap.push((n, Reverse(k)));
                }
            }
        }
        t
    }

    fn with_alphabet(alphabet: &str) -> Self {
        let mut t = Tokenizer {
            tokens: vec![UNK_STR.to_string()],
            ids: HashMap::from([(UNK_STR.to_string(), UNK)]),
            ascii: [UNK; 128],
            merges: PairMap::default(),
        };
        for ch in alphabet.chars() {
            let s = ch.to_string();
            if !t.ids.contains_key(&s) {
                let id = t.push(s);
                if ch.is_ascii() {
                    t.ascii[ch as usize] = id;
                }
            }
        }
        t
    }

    fn push(&mut self, s: String) -> u32 {
        let id = self.tokens.len() as u32;
        self.ids.insert(s.clone(), id);
        self.tokens.push(s);
        id
    }

    /// Adds the merge `l r` with the next rank (the merged text may already be a token).
    fn add_merge(&mut self, l: u32, r: u32) {
        let key = pair_key(l, r);
        if self.merges.contains_key(&key) {
            return;
        }
        let text = format!("{}{}", self.tokens[l as usize], self.tokens[r as usize]);
        let new = match self.ids.get(&text) {
            Some(&id) => id,
            None => self.push(text),
        };
        let rank = self.merges.len() as u32;
        self.merges.insert(key, (rank, new));
    }

    fn char_id(&self, ch: char) -> u32 {
        if ch.is_ascii() {
            self.ascii[ch as usize]
        } else {
            let mut buf = [0u8; 4];
            self.ids.get(&*ch.encode_utf8(&mut buf)).copied().unwrap_or(UNK)
        }
    }

    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::with_capacity(text.len() / 3 + 1);
        self.encode_into(text, &mut out);
        out
    }

    /// Appends the ids of `text` to `out`.
    pub fn encode_into(&self, text: &str, out: &mut Vec<u32>) {
        let mut syms: Vec<u32> = Vec::with_capacity(32);
        for piece in pieces(text) {
            syms.clear();
            syms.extend(piece.chars().map(|ch| self.char_id(ch)));
            // Merge the lowest-ranked adjacent pair until none is a merge.
            loop {
                let best = syms
                    .windows(2)
                    .enumerate()
                    .filter_map(|(i, w)| self.merges.get(&pair_key(w[0], w[1])).map(|&(rank, id)| (rank, i, id)))
                    .min();
                let Some((_, i, id)) = best else { break };
                syms[i] = id;
                syms.remove(i + 1);
            }
            out.extend_from_slice(&syms);
        }
    }

    /// The text of `ids`; [`UNK`] and ids out of range become U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        ids.iter().map(|&id| self.token(id).unwrap_or(UNK_STR)).collect()
    }

    pub fn vocab_size(&self) -> usize {
        self.tokens.len()
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    pub fn id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }
}

/// The standard tokenizer: 512 tokens trained on the embedded corpus, built at first use.
pub fn standard() -> &'static Tokenizer {
    static T: OnceLock<Tokenizer> = OnceLock::new();
    T.get_or_init(|| {
        let alphabet: String = std::iter::once('\n').chain(' '..='~').collect();
        Tokenizer::train(CORPUS, &alphabet, STANDARD_VOCAB)
    })
}

/// Encodes sentences `0..units` of `PASSAGE`, cycling; returns a hash of the ids.
pub fn run(units: u64) -> u64 {
    let tok = standard();
    let passage = black_box(&PASSAGE);
    let mut ids = Vec::with_capacity(64);
    let mut acc = 0u64;
    for i in 0..units {
        ids.clear();
        tok.encode_into(passage[(i % UNITS_PER_JOB) as usize], &mut ids);
        acc = ids.iter().fold(acc, |h, &id| h.wrapping_mul(31).wrapping_add(u64::from(id)));
    }
    acc
}

/// Splits text into pieces: `[ ]?alphanumeric+`, or any other single char. Lossless.
fn pieces(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        let mut it = rest.char_indices();
        let (_, first) = it.next()?;
        let word_start = first.is_alphanumeric() || (first == ' ' && rest[1..].starts_with(char::is_alphanumeric));
        let end = if word_start {
            it.find(|&(_, c)| !c.is_alphanumeric()).map_or(rest.len(), |(i, _)| i)
        } else {
            first.len_utf8()
        };
        let (piece, tail) = rest.split_at(end);
        rest = tail;
        Some(piece)
    })
}

/// Adds `c` to the count of every adjacent pair of `syms` (pairs with UNK are never merged).
fn add_pairs(pairs: &mut PairMap<i64>, syms: &[u32], c: i64) {
    for w in syms.windows(2) {
        if w[0] != UNK && w[1] != UNK {
            *pairs.entry(pair_key(w[0], w[1])).or_default() += c;
        }
    }
}

/// Replaces every non-overlapping `l r`, left to right, by `new`.
fn merge_all(syms: &mut Vec<u32>, l: u32, r: u32, new: u32) {
    let (mut read, mut write) = (0, 0);
    while read < syms.len() {
        if read + 1 < syms.len() && syms[read] == l && syms[read + 1] == r {
            syms[write] = new;
            read += 2;
        } else {
            syms[write] = syms[read];
            read += 1;
        }
        write += 1;
    }
    syms.truncate(write);
}

fn pair_key(l: u32, r: u32) -> u64 {
    (u64::from(l) << 32) | u64::from(r)
}

/// Pair maps hash one u64 with the murmur3 finaliser: SipHash would dominate encoding time.
type PairMap<V> = HashMap<u64, V, BuildHasherDefault<PairHasher>>;

#[derive(Default)]
struct PairHasher(u64);

impl Hasher for PairHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, k: u64) {
        self.0 = k;
    }
    fn finish(&self) -> u64 {
        let mut k = self.0;
        k ^= k >> 33;
        k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
        k ^= k >> 33;
        k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        k ^ (k >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Tokenizer {
        Tokenizer::from_merges("abc ", &[("a", "b"), ("ab", "c"), ("b", "c"), (" ", "ab")]).unwrap()
    }

    #[test]
    fn known_merge_sequence_on_a_tiny_vocabulary() {
        let t = tiny();
        // ids: UNK 0, a 1, b 2, c 3, ' ' 4, ab 5, abc 6, bc 7, ' ab' 8
        assert_eq!(t.vocab_size(), 9);
        // (a,b) rank 0 first, then (ab,c) rank 1.
        assert_eq!(t.encode("abc"), vec![6]);
        // (a,b) before (b,c): "b c ab" -> "bc ab".
        assert_eq!(t.encode("bcab"), vec![7, 5]);
        // The space joins the word; in " abc", (ab,c) outranks (" ",ab).
        assert_eq!(t.encode("abc abc"), vec![6, 4, 6]);
        assert_eq!(t.encode("abc ab"), vec![6, 8]);
        assert_eq!(t.decode(&[6, 4, 6]), "abc abc");
    }

    #[test]
    fn unknown_chars_become_unk() {
        let t = tiny();
        assert_eq!(t.encode("abd"), vec![5, UNK]);
        assert_eq!(t.decode(&t.encode("abd")), "ab\u{FFFD}");
        assert_eq!(t.decode(&[999]), "\u{FFFD}");
        let s = standard();
        let ids = s.encode("café ☕");
        assert_eq!(ids.iter().filter(|&&id| id == UNK).count(), 2);
        assert_eq!(s.decode(&ids), "caf\u{FFFD} \u{FFFD}");
    }

    #[test]
    fn bad_merge_is_an_error() {
        assert!(Tokenizer::from_merges("ab", &[("a", "x")]).is_err());
    }

    #[test]
    fn standard_round_trips_and_compresses() {
        let t = standard();
        assert_eq!(t.vocab_size(), STANDARD_VOCAB);
        let text: String = PASSAGE.concat();
        let ids = t.encode(&text);
        assert_eq!(t.decode(&ids), text);
        assert!(!ids.contains(&UNK));
        // A trained vocabulary: over 2.5 chars per token, more tokens than words.
        let words = text.split_whitespace().count();
        assert!(ids.len() * 5 < text.len() * 2 && ids.len() > words, "{} ids", ids.len());
        // Frequent corpus words are single tokens (with their leading space).
        for w in [" the", " belt", " motor", " bearing"] {
            assert_eq!(t.encode(w).len(), 1, "{w:?}");
        }
        // Sentence by sentence gives the same ids as the whole text: pieces never cross.
        let by_unit: Vec<u32> = PASSAGE.iter().flat_map(|s| t.encode(s)).collect();
        assert_eq!(by_unit, ids);
    }

    #[test]
    fn sentences_are_units_of_ten_to_twenty_words() {
        for s in PASSAGE {
            let n = s.split_whitespace().count();
            assert!((10..=20).contains(&n), "{n} words: {s}");
        }
    }

    #[test]
    fn pieces_are_lossless() {
        let text = "Hi, dock 3!  x\n";
        let p: Vec<&str> = pieces(text).collect();
        assert_eq!(p, ["Hi", ",", " dock", " 3", "!", " ", " x", "\n"]);
        assert_eq!(pieces("").count(), 0);
    }

    #[test]
    fn training_is_deterministic() {
        let a = Tokenizer::train(CORPUS, "abcdefghijklmnopqrstuvwxyz ", 100);
        let b = Tokenizer::train(CORPUS, "abcdefghijklmnopqrstuvwxyz ", 100);
        assert_eq!(a.tokens, b.tokens);
    }
}
