//! Column arrays: rows sent as one array per column and read back with `UNNEST` (bound in
//! binary: far cheaper for the server than parsing JSON rows, docs/BENCHMARKS.md).
//!
//! [`column_arrays!`] declares the arrays of one statement: each column is named once, `push`
//! takes a row's values in column order and `bind` binds the arrays in the same order, so a
//! value can never land in another column's parameter.

use sqlx::postgres::PgArguments;
use sqlx::query::{Query, QueryAs, QueryScalar};
use sqlx::{Encode, Postgres, Type};

/// A statement that takes parameters in order: `Query`, `QueryAs` and `QueryScalar` alike.
pub(crate) trait Params<'q>: Sized {
    fn param<T>(self, value: T) -> Self
    where
        T: 'q + Encode<'q, Postgres> + Type<Postgres>;
}

impl<'q> Params<'q> for Query<'q, Postgres, PgArguments> {
    fn param<T>(self, value: T) -> Self
    where
        T: 'q + Encode<'q, Postgres> + Type<Postgres>,
    {
        self.bind(value)
    }
}

impl<'q, O> Params<'q> for QueryAs<'q, Postgres, O, PgArguments> {
    fn param<T>(self, value: T) -> Self
    where
        T: 'q + Encode<'q, Postgres> + Type<Postgres>,
    {
        self.bind(value)
    }
}

impl<'q, O> Params<'q> for QueryScalar<'q, Postgres, O, PgArguments> {
    fn param<T>(self, value: T) -> Self
    where
        T: 'q + Encode<'q, Postgres> + Type<Postgres>,
    {
        self.bind(value)
    }
}

/// Declares a struct of column arrays (see the module docs):
/// `column_arrays! { pub(crate) struct Rows<'a> { tenant: &'a str, at: DateTime<Utc> } }`.
macro_rules! column_arrays {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident $(<$lt:lifetime>)? { $($col:ident : $ty:ty),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Default)]
        $vis struct $name $(<$lt>)? {
            $($col: Vec<$ty>,)+
        }

        #[allow(dead_code, clippy::too_many_arguments)]
        impl $(<$lt>)? $name $(<$lt>)? {
            /// Adds a row, its values in column order.
            $vis fn push(&mut self, $($col: $ty),+) {
                $(self.$col.push($col);)+
            }

            /// How many rows.
            $vis fn len(&self) -> usize {
                [$(self.$col.len()),+][0]
            }

            $vis fn is_empty(&self) -> bool {
                self.len() == 0
            }

            /// Binds the arrays as the statement's next parameters, in column order.
            $vis fn bind<'q, Q: $crate::columns::Params<'q>>(self, q: Q) -> Q
            where
                Self: 'q,
            {
                q$(.param(self.$col))+
            }
        }
    };
}
pub(crate) use column_arrays;
