//! The fault schedule, drawn entirely from the seed before the run starts:
//! quiet and faulty windows alternate, each fault picks its kind and its
//! random choices (which host, which split) from the same generator. Only
//! what is decided at run time (who leads) is left to the moment.

use std::time::Duration;

use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::Kind;

/// One planned fault window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Window {
    /// Offset from the run's start.
    pub at: Duration,
    pub lasts: Duration,
    pub kind: Kind,
    /// Which of the run's lanes (one per `--nemesis`) this window is in.
    pub lane: usize,
    /// Random material for the fault: a shuffled order of candidates the
    /// fault takes hosts from, and a number for its sizes.
    #[serde(skip)]
    pub order: Vec<usize>,
    pub roll: u64,
}

/// One lane: a sequence of fault windows drawn from its own kinds, lasting
/// the run's `--fault-s` unless the lane names its own range.
#[derive(Debug, Clone, PartialEq)]
pub struct Lane {
    pub kinds: Vec<Kind>,
    pub fault: Option<(Duration, Duration)>,
}

impl From<Vec<Kind>> for Lane {
    fn from(kinds: Vec<Kind>) -> Self {
        Lane { kinds, fault: None }
    }
}

impl Lane {
    /// Parses `KINDS[:MIN-MAX]`, e.g. `kill,pause` or `kill:2-4` (seconds).
    pub fn parse(s: &str) -> Result<Lane, String> {
        let (kinds, fault) = match s.split_once(':') {
            Some((k, r)) => (k, Some(Pace::range(r).map_err(|e| format!("`{s}`: {e}"))?)),
            None => (s, None),
        };
        Ok(Lane {
            kinds: Kind::parse_list(kinds)?,
            fault,
        })
    }
}

impl std::fmt::Display for Lane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.kinds.is_empty() {
            f.write_str("none")?;
        }
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
        f.write_str(&names.join(","))?;
        if let Some((lo, hi)) = self.fault {
            write!(f, ":{}-{}", lo.as_secs_f64(), hi.as_secs_f64())?;
        }
        Ok(())
    }
}

/// Timing knobs for a schedule.
#[derive(Debug, Clone, Copy)]
pub struct Pace {
    pub quiet: (Duration, Duration),
    pub fault: (Duration, Duration),
}

impl Default for Pace {
    fn default() -> Self {
        Pace {
            quiet: (Duration::from_secs(2), Duration::from_secs(5)),
            fault: (Duration::from_secs(3), Duration::from_secs(8)),
        }
    }
}

impl Pace {
    /// Parses `MIN-MAX` (seconds) as a range, e.g. `3-8`.
    pub fn range(s: &str) -> Result<(Duration, Duration), String> {
        let bad = || format!("`{s}` is not a range of seconds like 3-8");
        let (lo, hi) = s.split_once('-').ok_or_else(bad)?;
        let lo: f64 = lo.trim().parse().map_err(|_| bad())?;
        let hi: f64 = hi.trim().parse().map_err(|_| bad())?;
        // Windows are planned to the millisecond: a tenth of a second is
        // the shortest fault that is surely undone after it started.
        if !(lo >= 0.1 && lo <= hi && hi <= 3600.0) {
            return Err(format!("`{s}`: give 0.1 <= MIN <= MAX <= 3600"));
        }
        Ok((Duration::from_secs_f64(lo), Duration::from_secs_f64(hi)))
    }
}

fn between(rng: &mut ChaCha8Rng, (lo, hi): (Duration, Duration)) -> Duration {
    let (lo, hi) = (
        lo.as_millis() as u64,
        hi.as_millis().max(lo.as_millis()) as u64,
    );
    Duration::from_millis(rng.random_range(lo..=hi))
}

/// The windows of a run of `length`, ordered by start. Each lane draws its
/// faults from its own set of kinds and alternates quiet and faulty windows
/// on its own, so windows of different lanes overlap. Lanes are drawn one
/// after another from the same generator: lane 0 of a run with several
/// lanes is the plan of the same seed with that lane alone. The last window
/// of each lane ends before `length`, leaving the end of the run quiet.
pub fn plan(seed: u64, lanes: &[Lane], length: Duration, pace: Pace) -> Vec<Window> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = vec![];
    for (lane, Lane { kinds, fault }) in lanes.iter().enumerate() {
        if kinds.is_empty() {
            continue;
        }
        let fault = fault.unwrap_or(pace.fault);
        let mut t = between(&mut rng, pace.quiet);
        loop {
            let lasts = between(&mut rng, fault);
            if t + lasts >= length {
                break;
            }
            let kind = *kinds.choose(&mut rng).expect("kinds is not empty");
            let mut order: Vec<usize> = (0..64).collect();
            order.shuffle(&mut rng);
            out.push(Window {
                at: t,
                lasts,
                kind,
                lane,
                order,
                roll: rng.random(),
            });
            t += lasts + between(&mut rng, pace.quiet);
        }
    }
    out.sort_by_key(|w| (w.at, w.lane));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_plan_and_another_seed_another() {
        let lanes = [Lane::from(Kind::ALL.to_vec())];
        let len = Duration::from_secs(120);
        let a = plan(7, &lanes, len, Pace::default());
        assert_eq!(a, plan(7, &lanes, len, Pace::default()));
        assert_ne!(a, plan(8, &lanes, len, Pace::default()));
        assert!(a.len() >= 5, "{} windows", a.len());
    }

    #[test]
    fn windows_do_not_overlap_and_end_before_the_run() {
        let len = Duration::from_secs(60);
        let w = plan(
            3,
            &[vec![Kind::Kill, Kind::Pause].into()],
            len,
            Pace::default(),
        );
        for pair in w.windows(2) {
            assert!(pair[0].at + pair[0].lasts <= pair[1].at);
        }
        let last = w.last().expect("some windows");
        assert!(last.at + last.lasts < len);
        assert!(w.iter().all(|x| matches!(x.kind, Kind::Kill | Kind::Pause)));
    }

    #[test]
    fn lanes_overlap_draw_from_their_own_kinds_and_lane_zero_is_the_plan_alone() {
        let len = Duration::from_secs(120);
        let one = plan(11, &[Kind::ALL.to_vec().into()], len, Pace::default());
        let kills = Lane::parse("kill:1-2").unwrap();
        let two = plan(
            11,
            &[Kind::ALL.to_vec().into(), kills],
            len,
            Pace::default(),
        );
        let lane0: Vec<Window> = two.iter().filter(|w| w.lane == 0).cloned().collect();
        assert_eq!(lane0, one);
        let lane1: Vec<&Window> = two.iter().filter(|w| w.lane == 1).collect();
        assert!(!lane1.is_empty() && lane1.iter().all(|w| w.kind == Kind::Kill));
        assert!(
            lane1.iter().all(|w| w.lasts <= Duration::from_secs(2)),
            "the lane's own range"
        );
        assert!(
            two.windows(2).all(|p| p[0].at <= p[1].at),
            "ordered by start"
        );
        let overlapping = two.iter().any(|a| {
            two.iter()
                .any(|b| a.lane != b.lane && a.at < b.at + b.lasts && b.at < a.at + a.lasts)
        });
        assert!(
            overlapping,
            "two lanes over 120 s never overlapped: {two:?}"
        );
    }

    #[test]
    fn lanes_parse_with_their_own_range_and_print_back() {
        let l = Lane::parse("pause,kill:2-4.5").unwrap();
        assert_eq!(l.kinds, vec![Kind::Kill, Kind::Pause]);
        assert_eq!(
            l.fault,
            Some((Duration::from_secs(2), Duration::from_millis(4500)))
        );
        assert_eq!(l.to_string(), "kill,pause:2-4.5");
        assert_eq!(Lane::parse("none").unwrap().to_string(), "none");
        assert!(Lane::parse("kill:soon").unwrap_err().contains("kill:soon"));
        assert!(Lane::parse("teleport:1-2")
            .unwrap_err()
            .contains("teleport"));
    }

    #[test]
    fn ranges_parse_and_bad_ones_say_why() {
        assert_eq!(
            Pace::range("3-8").unwrap(),
            (Duration::from_secs(3), Duration::from_secs(8))
        );
        assert!(Pace::range("8-3").unwrap_err().contains("MIN <= MAX"));
        assert!(Pace::range("0.0001-0.0005")
            .unwrap_err()
            .contains("0.1 <= MIN"));
        assert!(Pace::range("soon")
            .unwrap_err()
            .contains("range of seconds"));
    }

    #[test]
    fn no_kinds_means_no_faults() {
        assert!(plan(1, &[], Duration::from_secs(60), Pace::default()).is_empty());
        assert!(plan(
            1,
            &[vec![].into()],
            Duration::from_secs(60),
            Pace::default()
        )
        .is_empty());
    }
}
