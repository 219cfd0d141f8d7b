//! The shape of each partition: which links it cuts, as a [`Grudge`], and
//! how the timeline describes it. Pure functions of the hosts and the
//! window's random draw, so each shape is tested without a network.

use crate::net::firewall::Grudge;

/// `h` cut off from every host in `rest`.
pub fn isolate(h: &str, rest: &[String]) -> (Grudge, String) {
    let mut g = Grudge::default();
    g.cut(&[h.to_string()], rest);
    (g, format!("{h} isolated"))
}

/// Coordinator `h` cut off from the other coordinators only: routers,
/// devnodes and clients still reach it. It can neither lead nor learn what
/// is committed, yet it still answers whoever asks.
pub fn peers(h: &str, coordinators: &[String]) -> (Grudge, String) {
    let mut g = Grudge::default();
    g.cut(&[h.to_string()], coordinators);
    (g, format!("{h} cut off from the other coordinators"))
}

/// Coordinators (in the window's order) split into a majority and a
/// minority; every other host lands on a side by a bit of `roll`.
pub fn halves(coordinators: Vec<String>, others: &[String], roll: u64) -> (Grudge, String) {
    let mut a = coordinators;
    let mut b = a.split_off(a.len().div_ceil(2));
    for (i, h) in others.iter().enumerate() {
        if (roll >> (i % 64)) & 1 == 0 {
            a.push(h.clone())
        } else {
            b.push(h.clone())
        }
    }
    let mut g = Grudge::default();
    g.cut(&a, &b);
    (g, format!("[{}] | [{}]", a.join(" "), b.join(" ")))
}

/// Two groups of coordinators joined only through the first one (in the
/// window's order), which sees both.
pub fn bridge(mut coordinators: Vec<String>) -> (Grudge, String) {
    let bridge = coordinators.remove(0);
    let right = coordinators.split_off(coordinators.len() / 2);
    let mut g = Grudge::default();
    g.cut(&coordinators, &right);
    let detail = format!(
        "[{}] <{bridge}> [{}]",
        coordinators.join(" "),
        right.join(" ")
    );
    (g, detail)
}

/// `routers` cut off from every coordinator.
pub fn control(routers: &[String], coordinators: &[String]) -> (Grudge, String) {
    let mut g = Grudge::default();
    g.cut(routers, coordinators);
    (
        g,
        format!("[{}] cut off from the coordinators", routers.join(" ")),
    )
}

/// Each member keeps links to its ring neighbours only, so that it sees a
/// majority and no two see the same one. With three members that reduces to
/// one cut link (two members each see a majority that the third bridges).
pub fn ring(ring: &[String]) -> (Grudge, String) {
    let g = ring_grudge(ring);
    let detail = format!("ring {}: {}", ring.join("-"), g.describe());
    (g, detail)
}

fn ring_grudge(ring: &[String]) -> Grudge {
    let n = ring.len();
    let mut g = Grudge::default();
    if n < 3 {
        return g;
    }
    if n == 3 {
        g.cut(&ring[0..1], &ring[1..2]);
        return g;
    }
    let majority = n / 2 + 1;
    let reach = (majority - 1).div_ceil(2);
    for i in 0..n {
        for j in (i + 1)..n {
            let d = (j - i).min(n - (j - i));
            if d > reach {
                g.cut(&ring[i..=i], &ring[j..=j]);
            }
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(prefix: &str, n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("{prefix}{i}")).collect()
    }

    /// Hosts of `among` that `h` still hears, itself included.
    fn sees(g: &Grudge, among: &[String], h: &str) -> usize {
        among
            .iter()
            .filter(|x| !g.0.get(h).is_some_and(|c| c.contains(*x)))
            .count()
    }

    #[test]
    fn a_ring_of_five_gives_everyone_a_majority_and_no_two_the_same() {
        let ring = names("c", 5);
        let g = ring_grudge(&ring);
        for h in &ring {
            assert_eq!(sees(&g, &ring, h), 3, "{h} in {g:?}");
        }
        let views: std::collections::BTreeSet<_> =
            ring.iter().map(|h| g.0.get(h).cloned()).collect();
        assert_eq!(views.len(), 5);
    }

    #[test]
    fn a_ring_of_three_cuts_one_link() {
        let ring = names("c", 3);
        let g = ring_grudge(&ring);
        assert_eq!(g.0.values().map(|c| c.len()).sum::<usize>(), 2);
        assert!(ring.iter().all(|h| sees(&g, &ring, h) >= 2));
    }

    #[test]
    fn peers_leaves_the_clients_links_alone() {
        let coords = names("c", 3);
        let (g, detail) = peers("c1", &coords);
        assert_eq!(sees(&g, &coords, "c1"), 1);
        assert_eq!(sees(&g, &coords, "c2"), 2);
        assert!(!g.0.contains_key("r1") && !g.0["c1"].contains("r1"));
        assert!(detail.contains("c1"), "{detail}");
    }

    #[test]
    fn halves_keep_a_majority_of_coordinators_on_one_side() {
        let (g, _) = halves(names("c", 5), &names("r", 2), 0b10);
        // c1..c3 | c4 c5: r1 with the majority, r2 with the minority.
        assert_eq!(sees(&g, &names("c", 5), "c1"), 3);
        assert_eq!(sees(&g, &names("c", 5), "c5"), 2);
        assert!(g.0["r1"].contains("c5") && g.0["r2"].contains("c1"));
    }

    #[test]
    fn a_bridge_sees_both_sides_that_do_not_see_each_other() {
        let (g, detail) = bridge(names("c", 5));
        assert!(!g.0.contains_key("c1"), "the bridge is cut from no one");
        assert!(g.0["c2"].contains("c4") && !g.0["c2"].contains("c3"));
        assert_eq!(detail, "[c2 c3] <c1> [c4 c5]");
    }
}
