//! Driver code generated from `specs/` at build time, one module per ASIC generation.
//!
//! Each module is what `asicgen_macros::asic!` expands its spec to: `QueueId` and `EngineId`
//! enums, the `QUEUES`/`ENGINES`/`LIMITS`/`FEATURES` tables, the `CsState` lifecycle and a
//! zero-sized type (`goya::Goya`, ...) implementing `asicgen_runtime::asic::Asic`. Every output
//! is checked in once, readable, under `generated/review/`, and `tests/review.rs` keeps it current.
//!
//! Adding a generation is one line in the `generations!` list below (plus its spec): the
//! module, written out as usual, and the type that gets the registry entry ([`NAMES`], [`visit`]) that lets a tool pick a generation
//! by name at run time while the runtime stays statically dispatched.
#![warn(missing_docs)]

use asicgen_runtime::asic::Asic;

/// Code generic over a generation, run for one picked by name (see [`visit`]).
pub trait AsicVisitor {
    /// What the visit returns.
    type Output;
    /// Run for generation `A`.
    fn visit<A: Asic>(self) -> Self::Output;
}

macro_rules! generations {
    ($($(#[$doc:meta])* pub mod $module:ident { $($body:tt)* } => $ty:ident;)*) => {
        $(
            $(#[$doc])*
            pub mod $module {
                $($body)*
            }
        )*

        /// Every generation's name, as [`visit`] takes it (the module name).
        pub const NAMES: &[&str] = &[$(stringify!($module)),*];

        /// Run `visitor` for the generation called `name` (case-insensitive); `None` if there is
        /// no such generation.
        pub fn visit<V: AsicVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            $(
                if name.eq_ignore_ascii_case(stringify!($module)) {
                    return Some(visitor.visit::<$module::$ty>());
                }
            )*
            None
        }
    };
}

generations! {
    /// Habana Goya, from `specs/goya.asic`.
    pub mod goya { asicgen_macros::asic!("../specs/goya.asic"); } => Goya;
    /// Habana Gaudi, from `specs/gaudi.asic`.
    pub mod gaudi { asicgen_macros::asic!("../specs/gaudi.asic"); } => Gaudi;
    /// A made-up generation exercising what Goya and Gaudi do not, from `specs/example.asic`.
    pub mod example { asicgen_macros::asic!("../specs/example.asic"); } => Example;
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Name;

    impl AsicVisitor for Name {
        type Output = &'static str;
        fn visit<A: Asic>(self) -> &'static str {
            A::NAME
        }
    }

    #[test]
    fn registry_finds_every_generation_by_name() {
        let found: Vec<_> = NAMES.iter().filter_map(|n| visit(n, Name)).collect();
        assert_eq!(found, ["Goya", "Gaudi", "Example"]);
        assert_eq!(visit("GAUDI", Name), Some("Gaudi"));
        assert_eq!(visit("gaudi2", Name), None);
    }
}
