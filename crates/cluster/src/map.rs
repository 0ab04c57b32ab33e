//! The documented mapping from vendor product strings to catalog ids (`product-map.toml`,
//! built in), which a user's `--map FILE` extends and overrides, plus the facts a cluster does
//! not know (a site's country and facility figures, a pool's acquisition) that the same file
//! may supply.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::{Error, Result};

/// The built-in mapping file.
pub const BUILTIN_MAP: &str = include_str!("product-map.toml");

/// An accelerator resource a Kubernetes node advertises, and the labels that say more of it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceRule {
    /// Extended resource name in `status.capacity` (`nvidia.com/gpu`).
    pub name: String,
    /// Labels holding the product, tried in order.
    #[serde(default)]
    pub product_keys: Vec<String>,
    /// Label holding the physical count per node, preferred to the capacity (time-slicing
    /// multiplies the capacity).
    #[serde(default)]
    pub count_label: Option<String>,
    /// Label whose value names the node's scale-up domain (all nodes with one value form it).
    #[serde(default)]
    pub domain_label: Option<String>,
}

/// "A node whose `keys` label (or Slurm gres type) is one of `values` has `accelerator`s."
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductRule {
    pub keys: Vec<String>,
    pub values: Vec<String>,
    /// A catalog id.
    pub accelerator: String,
    /// Devices of the Kubernetes resource (or Slurm gres) that make one catalog accelerator:
    /// 2 for an Ascend 910C, whose two dies the device plugin advertises separately.
    #[serde(default = "one")]
    pub devices_per_accelerator: u32,
}

fn one() -> u32 {
    1
}

/// The shape of a mapping file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapFile {
    #[serde(default)]
    resource: Vec<ResourceRule>,
    #[serde(default)]
    product: Vec<ProductRule>,
    /// Site id → ISO 3166 country.
    #[serde(default)]
    country: BTreeMap<String, String>,
    /// Site id → scenario `[[site]]` fields copied into the fragment (tenure, owner, ...).
    #[serde(default)]
    site: BTreeMap<String, toml::Table>,
    /// Scenario `[[pool]]` fields copied into every imported pool (acquisition, owner, ...).
    #[serde(default)]
    pool_defaults: toml::Table,
}

/// The mapping in force: the user's rules first, then the built-in ones.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub resources: Vec<ResourceRule>,
    pub products: Vec<ProductRule>,
    pub countries: BTreeMap<String, String>,
    pub sites: BTreeMap<String, toml::Table>,
    pub pool_defaults: toml::Table,
}

impl Default for Mapping {
    fn default() -> Self {
        // The built-in file is checked by a test; failing to parse it is a build defect.
        let f: MapFile = toml::from_str(BUILTIN_MAP).unwrap_or_default();
        Mapping {
            resources: f.resource,
            products: f.product,
            countries: f.country,
            sites: f.site,
            pool_defaults: f.pool_defaults,
        }
    }
}

/// Values compare ignoring case, with `-`, `_` and spaces the same.
pub fn normalise(v: &str) -> String {
    v.trim()
        .chars()
        .map(|c| match c {
            '_' | ' ' => '-',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

impl Mapping {
    /// The built-in mapping with the user's file `text` (named `origin`) laid over it: its
    /// product rules are tried first, a resource with the same name replaces the built-in one,
    /// and its countries, sites and pool defaults are used as given.
    pub fn with_user(text: &str, origin: &str) -> Result<Mapping> {
        let f: MapFile = toml::from_str(text).map_err(|e| Error::Map {
            file: origin.to_string(),
            message: e.to_string().trim().to_string(),
        })?;
        let mut m = Mapping::default();
        for r in f.resource {
            m.resources.retain(|x| x.name != r.name);
            m.resources.push(r);
        }
        let mut products = f.product;
        products.append(&mut m.products);
        m.products = products;
        m.countries.extend(f.country);
        m.sites.extend(f.site);
        m.pool_defaults.extend(f.pool_defaults);
        if let Some(r) = m.products.iter().find(|r| r.devices_per_accelerator == 0) {
            return Err(Error::Map {
                file: origin.to_string(),
                message: format!(
                    "product rule for {}: devices_per_accelerator: expected a whole number >= 1, found 0",
                    r.accelerator
                ),
            });
        }
        for (site, cc) in &m.countries {
            if cc.len() != 2 || !cc.bytes().all(|b| b.is_ascii_uppercase()) {
                return Err(Error::Map {
                    file: origin.to_string(),
                    message: format!(
                        "country.{site}: expected an ISO 3166 alpha-2 code such as \"CN\", found {cc:?}"
                    ),
                });
            }
        }
        check_map_ids(&m, origin)?;
        Ok(m)
    }

    /// The catalog id that `key` = `value` names, if a rule says so.
    pub fn product(&self, key: &str, value: &str) -> Option<&str> {
        let v = normalise(value);
        self.products
            .iter()
            .find(|r| r.keys.iter().any(|k| k == key) && r.values.iter().any(|x| normalise(x) == v))
            .map(|r| r.accelerator.as_str())
    }

    /// The first value (in rule order) that names `accelerator` under `key`: the string a node
    /// of that accelerator carries, for exporting node selectors and gres types.
    pub fn product_value(&self, key: &str, accelerator: &str) -> Option<&str> {
        self.products
            .iter()
            .find(|r| r.accelerator == accelerator && r.keys.iter().any(|k| k == key))
            .and_then(|r| r.values.first())
            .map(String::as_str)
    }

    /// Devices per catalog accelerator (the first rule naming `accelerator` decides; 1 when
    /// none does).
    pub fn devices_per(&self, accelerator: &str) -> u32 {
        self.products
            .iter()
            .find(|r| r.accelerator == accelerator)
            .map_or(1, |r| r.devices_per_accelerator.max(1))
    }

    pub fn resource(&self, name: &str) -> Option<&ResourceRule> {
        self.resources.iter().find(|r| r.name == name)
    }

    /// Catalog ids any rule maps to under one of `keys`.
    pub fn accelerators_for_keys(&self, keys: &[String]) -> Vec<String> {
        let mut out: Vec<String> = self
            .products
            .iter()
            .filter(|r| r.keys.iter().any(|k| keys.contains(k)))
            .map(|r| r.accelerator.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// The ids a mapping file names (the `accelerator` of each product rule, the site ids of
/// `[country]` and `[site.ID]`) are in the id character set: they become scenario ids and reach
/// exports. Product values need not be ids (they are vendor strings matched, not written), except
/// what a Slurm export writes as a gres type, which the export checks.
fn check_map_ids(m: &Mapping, origin: &str) -> Result<()> {
    let ids = m
        .products
        .iter()
        .enumerate()
        .map(|(i, r)| (format!("product[{i}].accelerator"), r.accelerator.as_str()))
        .chain(
            m.countries
                .keys()
                .map(|k| (format!("country.{k:?}"), k.as_str())),
        )
        .chain(m.sites.keys().map(|k| (format!("site.{k:?}"), k.as_str())));
    for (at, id) in ids {
        if let Some(problem) = xpufleet_model::id_problem(id) {
            return Err(Error::Map {
                file: origin.to_string(),
                message: format!(
                    "{at}: {id:?} is not allowed: {problem}: expected {}",
                    xpufleet_model::ID_RULE
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_map_parses() {
        let f: MapFile = toml::from_str(BUILTIN_MAP).unwrap();
        assert!(f.product.len() >= 10);
        assert_eq!(f.resource.len(), 3);
    }

    #[test]
    fn gfd_and_nvml_names_are_one_value() {
        let m = Mapping::default();
        assert_eq!(
            m.product("nvidia.com/gpu.product", "NVIDIA-H100-80GB-HBM3"),
            Some("h100-sxm")
        );
        assert_eq!(
            m.product("slurm:gres/gpu", "nvidia_h100_80gb_hbm3"),
            Some("h100-sxm")
        );
        // A PCIe H100 is not an SXM one: no rule, no guess.
        assert_eq!(
            m.product("nvidia.com/gpu.product", "NVIDIA-H100-PCIe"),
            None
        );
        // A value under the wrong key does not match.
        assert_eq!(m.product("accelerator-type", "NVIDIA-H20"), None);
    }

    #[test]
    fn user_rules_come_first_and_bad_countries_are_refused() {
        let m = Mapping::with_user(
            "[[product]]\nkeys = [\"nvidia.com/gpu.product\"]\nvalues = [\"NVIDIA-H20\"]\naccelerator = \"my-h20\"\n",
            "map.toml",
        )
        .unwrap();
        assert_eq!(
            m.product("nvidia.com/gpu.product", "nvidia-h20"),
            Some("my-h20")
        );
        let e = Mapping::with_user("[country]\nzone-a = \"China\"\n", "map.toml").unwrap_err();
        assert!(e.to_string().contains("country.zone-a"), "{e}");
        let e = Mapping::with_user("[[product]]\nkey = 1\n", "map.toml").unwrap_err();
        assert!(e.to_string().starts_with("map.toml:"), "{e}");
    }

    /// Issue 23: a mapping file's ids become scenario ids and reach exports.
    #[test]
    fn issue_23_hostile_ids_in_a_mapping_file_are_refused() {
        for (text, at) in [
            (
                "[[product]]\nkeys = [\"k\"]\nvalues = [\"v\"]\naccelerator = \"h100\\nPartitionName=x\"\n",
                "product[0].accelerator",
            ),
            ("[country]\n\"dc1#x\" = \"CN\"\n", "country.\"dc1#x\""),
            ("[site.\"dc: 1\"]\ntenure = \"owned\"\n", "site.\"dc: 1\""),
        ] {
            let e = Mapping::with_user(text, "map.toml").unwrap_err().to_string();
            assert!(e.starts_with(&format!("map.toml: {at}: ")), "{e}");
            assert!(e.contains("is not allowed") && !e.contains('\n'), "{e}");
        }
    }
}
