//! Slow and lossy links. With `tc netem` (when the kernel has it) a host's
//! outgoing packets are delayed and dropped. Kernels built without netem (as
//! in some micro-VMs) get the nearest thing that needs no module: loss from
//! iptables' statistic match, and delay from a token-bucket rate limit (`tbf`)
//! whose queue delays traffic under load by up to the fault's delay. The
//! timeline says which one ran.

use anyhow::Result;

use super::{firewall, in_ns, Host};

/// What a link fault does to one host's traffic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinkFault {
    pub delay_ms: u32,
    pub jitter_ms: u32,
    /// Share of packets lost, 0..1.
    pub loss: f64,
}

/// A fault as applied to a host: what it was, and whether netem did it (or
/// the fallback, whose loss is an iptables rule to take back).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Degraded {
    pub fault: LinkFault,
    pub with_netem: bool,
}

/// Whether this kernel has netem, tried once on `probe`'s loopback.
pub fn netem_available(probe: &Host) -> bool {
    let ok = in_ns(
        probe,
        "tc",
        &["qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
    )
    .is_ok();
    if ok {
        let _ = in_ns(probe, "tc", &["qdisc", "del", "dev", "lo", "root"]);
    }
    ok
}

/// Applies `fault` to `host`'s link; returns how, for the timeline.
pub fn degrade(host: &Host, fault: LinkFault, netem: bool) -> Result<String> {
    if netem {
        let (d, j) = (
            format!("{}ms", fault.delay_ms),
            format!("{}ms", fault.jitter_ms),
        );
        let loss = format!("{:.1}%", fault.loss * 100.0);
        in_ns(
            host,
            "tc",
            &[
                "qdisc", "replace", "dev", "eth0", "root", "netem", "delay", &d, &j, "loss", &loss,
            ],
        )?;
        return Ok(format!("netem delay {d}±{j} loss {loss} on {}", host.name));
    }
    // Without netem: a narrow link (2 Mbit/s) whose queue holds packets up
    // to `delay_ms` before dropping them, so traffic under load is delayed
    // by up to that much, and bursts beyond it are lost.
    let rate = "2mbit";
    let latency = format!("{}ms", fault.delay_ms.max(1));
    in_ns(
        host,
        "tc",
        &[
            "qdisc", "replace", "dev", "eth0", "root", "tbf", "rate", rate, "burst", "16kb",
            "latency", &latency,
        ],
    )?;
    if fault.loss > 0.0 {
        firewall::lossy(host, fault.loss)?;
    }
    Ok(format!(
        "tbf rate {rate} queueing up to {latency} (netem unavailable), iptables loss {:.1}% on {}",
        fault.loss * 100.0,
        host.name
    ))
}

/// Puts `host`'s link back to normal: the queue discipline always, and the
/// loss rule [`degrade`] added when netem was not there to do it.
pub fn restore(host: &Host, how: Option<Degraded>) -> Result<()> {
    let _ = in_ns(host, "tc", &["qdisc", "del", "dev", "eth0", "root"]);
    if let Some(Degraded {
        fault,
        with_netem: false,
    }) = how
    {
        if fault.loss > 0.0 {
            firewall::unlossy(host, fault.loss)?;
        }
    }
    Ok(())
}
