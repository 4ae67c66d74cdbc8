//! The operation mix: which operations a run sends, and how often (weights per 100, like a real
//! user base: mostly reads and logins).

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Op {
    Register,
    Login,
    BadLogin,
    Read,
    Refresh,
    Update,
    Deactivate,
    NotFound,
}

impl Op {
    /// Weights per 100 operations: mostly reads and logins, like a real user base.
    pub(super) const MIX: [(Op, u32); 8] = [
        (Op::Register, 18),
        (Op::Login, 18),
        (Op::BadLogin, 5),
        (Op::Read, 30),
        (Op::Refresh, 8),
        (Op::Update, 12),
        (Op::Deactivate, 4),
        (Op::NotFound, 5),
    ];

    pub(super) fn pick(roll: u32) -> Op {
        let mut left = roll % 100;
        for (op, weight) in Self::MIX {
            if left < weight {
                return op;
            }
            left -= weight;
        }
        Op::Read
    }

    pub(super) fn name(self) -> &'static str {
        match self {
            Op::Register => "register",
            Op::Login => "login",
            Op::BadLogin => "bad login",
            Op::Read => "read",
            Op::Refresh => "refresh",
            Op::Update => "update",
            Op::Deactivate => "deactivate",
            Op::NotFound => "unknown path",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_covers_every_operation() {
        let seen: std::collections::BTreeSet<_> = (0..100).map(Op::pick).collect();
        assert_eq!(seen.len(), Op::MIX.len());
        assert_eq!(Op::MIX.iter().map(|(_, w)| w).sum::<u32>(), 100);
    }
}
