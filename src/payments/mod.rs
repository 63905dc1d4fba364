//! Payments: what an app sells and what its customers hold. A customer is a user, a team, or an
//! id of the app's own (`custom`); the catalogue (items, products, product lines) lives in the
//! config tree under `payments`. Items are a ledger of quantity changes per customer and item
//! ([`items`]); products are what customers buy or are granted ([`product`]), and what they own
//! of them, with the items those include ([`products`]); buying goes through the hosted checkout ([`checkout`]); what was bought and
//! changed is read back as Stack's transactions ([`transactions`]).

pub mod checkout;
pub mod items;
pub mod product;
pub mod products;
pub mod stripe;
pub mod transactions;

use crate::error::{Error, Result};
use crate::projects::Project;
use crate::users::User;
use crate::Core;

/// Who holds products and items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerType {
    User,
    Team,
    Custom,
}

impl CustomerType {
    pub const ALL: [CustomerType; 3] =
        [CustomerType::User, CustomerType::Team, CustomerType::Custom];

    pub fn parse(s: &str) -> Option<CustomerType> {
        CustomerType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// `params.customer_type`, checked as Stack checks it.
    pub fn from_param(s: &str) -> Result<CustomerType> {
        CustomerType::parse(s).ok_or_else(|| {
            crate::validation::invalid(
                "params.customer_type must be one of the following values: user, team, custom",
            )
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CustomerType::User => "user",
            CustomerType::Team => "team",
            CustomerType::Custom => "custom",
        }
    }
}

/// One customer of a project.
#[derive(Clone, Debug)]
pub struct Customer {
    pub kind: CustomerType,
    pub id: String,
}

impl Customer {
    /// The customer a request names by type (checked as `params.customer_type`) and id.
    pub fn parse(customer_type: &str, id: impl Into<String>) -> Result<Customer> {
        Ok(Customer {
            kind: CustomerType::from_param(customer_type)?,
            id: id.into(),
        })
    }
}

impl Core {
    /// Users and teams must exist (`USER_NOT_FOUND`, `TEAM_NOT_FOUND`); a custom customer is
    /// whatever id the app names.
    pub async fn require_customer(&self, project: &Project, customer: &Customer) -> Result<()> {
        match customer.kind {
            CustomerType::User => {
                self.user(&project.id, &customer.id)
                    .await?
                    .ok_or(Error::UserNotFound)?;
            }
            CustomerType::Team => {
                self.team(&project.id, &customer.id)
                    .await?
                    .ok_or_else(|| Error::TeamNotFound(customer.id.clone()))?;
            }
            CustomerType::Custom => {}
        }
        Ok(())
    }

    /// What a client (a signed-in user) may read: their own user's, and their teams' where they
    /// hold `team_admin`; never a custom customer's (`forbidden` says so in the app's words).
    pub async fn require_client_customer_access(
        &self,
        project: &Project,
        user: Option<&User>,
        customer: &Customer,
        forbidden: &str,
    ) -> Result<()> {
        let user = user.ok_or(Error::UserAuthenticationRequired)?;
        match customer.kind {
            CustomerType::Custom => Err(Error::Status(403, forbidden.into())),
            CustomerType::User if customer.id != user.id => {
                Err(Error::Status(403, forbidden.into()))
            }
            CustomerType::User => Ok(()),
            CustomerType::Team => {
                self.require_team_permission(project, &customer.id, &user.id, "team_admin")
                    .await
            }
        }
    }
}
