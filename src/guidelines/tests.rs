//! The guideline rules on a small hand-written tabular excerpt (no assets needed).

use super::*;

/// A few categories in the CMS tabular XML layout, with the "use additional code" notes the
/// rules read. Not a complete copy of any category.
const TABULAR: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<ICD10CM.tabular>
  <version>2026</version>
  <chapter><name>4</name><desc>Endocrine (E00-E89)</desc>
    <section id="E08-E13"><desc>Diabetes mellitus (E08-E13)</desc>
      <diag><name>E11</name><desc>Type 2 diabetes mellitus</desc>
        <diag><name>E11.2</name><desc>Type 2 diabetes mellitus with kidney complications</desc>
          <diag><name>E11.22</name><desc>Type 2 diabetes mellitus with diabetic chronic kidney disease</desc>
            <useAdditionalCode><note>code to identify stage of chronic kidney disease (N18.1-N18.6)</note></useAdditionalCode>
          </diag>
        </diag>
        <diag><name>E11.4</name><desc>Type 2 diabetes mellitus with neurological complications</desc>
          <diag><name>E11.40</name><desc>Type 2 diabetes mellitus with diabetic neuropathy, unspecified</desc></diag>
        </diag>
        <diag><name>E11.6</name><desc>Type 2 diabetes mellitus with other specified complications</desc>
          <diag><name>E11.62</name><desc>Type 2 diabetes mellitus with skin complications</desc>
            <diag><name>E11.621</name><desc>Type 2 diabetes mellitus with foot ulcer</desc>
              <useAdditionalCode><note>code to identify site of ulcer (L97.4-, L97.5-)</note></useAdditionalCode>
            </diag>
          </diag>
        </diag>
        <diag><name>E11.9</name><desc>Type 2 diabetes mellitus without complications</desc></diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>5</name><desc>Mental (F01-F99)</desc>
    <section id="F10-F19"><desc>Substance use (F10-F19)</desc>
      <diag><name>F17</name><desc>Nicotine dependence</desc>
        <diag><name>F17.2</name><desc>Nicotine dependence</desc>
          <diag><name>F17.20</name><desc>Nicotine dependence, unspecified</desc>
            <diag><name>F17.200</name><desc>Nicotine dependence, unspecified, uncomplicated</desc></diag>
            <diag><name>F17.201</name><desc>Nicotine dependence, unspecified, in remission</desc></diag>
          </diag>
          <diag><name>F17.21</name><desc>Nicotine dependence, cigarettes</desc>
            <diag><name>F17.210</name><desc>Nicotine dependence, cigarettes, uncomplicated</desc></diag>
            <diag><name>F17.211</name><desc>Nicotine dependence, cigarettes, in remission</desc></diag>
            <diag><name>F17.218</name><desc>Nicotine dependence, cigarettes, with other nicotine-induced disorders</desc></diag>
          </diag>
          <diag><name>F17.22</name><desc>Nicotine dependence, chewing tobacco</desc>
            <diag><name>F17.220</name><desc>Nicotine dependence, chewing tobacco, uncomplicated</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>6</name><desc>Nervous system (G00-G99)</desc>
    <section id="G40-G47"><desc>Episodic and paroxysmal disorders (G40-G47)</desc>
      <diag><name>G43</name><desc>Migraine</desc>
        <diag><name>G43.1</name><desc>Migraine with aura</desc>
          <diag><name>G43.10</name><desc>Migraine with aura, not intractable</desc>
            <diag><name>G43.109</name><desc>Migraine with aura, not intractable, without status migrainosus</desc></diag>
          </diag>
        </diag>
        <diag><name>G43.9</name><desc>Migraine, unspecified</desc>
          <diag><name>G43.90</name><desc>Migraine, unspecified, not intractable</desc>
            <diag><name>G43.909</name><desc>Migraine, unspecified, not intractable, without status migrainosus</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
    <section id="G60-G65"><desc>Polyneuropathies (G60-G65)</desc>
      <diag><name>G62</name><desc>Other and unspecified polyneuropathies</desc>
        <diag><name>G62.9</name><desc>Polyneuropathy, unspecified</desc></diag>
      </diag>
    </section>
    <section id="G80-G83"><desc>Cerebral palsy and other paralytic syndromes (G80-G83)</desc>
      <diag><name>G81</name><desc>Hemiplegia and hemiparesis</desc>
        <diag><name>G81.9</name><desc>Hemiplegia, unspecified</desc>
          <diag><name>G81.90</name><desc>Hemiplegia, unspecified affecting unspecified side</desc></diag>
          <diag><name>G81.91</name><desc>Hemiplegia, unspecified affecting right dominant side</desc></diag>
          <diag><name>G81.92</name><desc>Hemiplegia, unspecified affecting left dominant side</desc></diag>
          <diag><name>G81.93</name><desc>Hemiplegia, unspecified affecting right nondominant side</desc></diag>
          <diag><name>G81.94</name><desc>Hemiplegia, unspecified affecting left nondominant side</desc></diag>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>9</name><desc>Circulatory (I00-I99)</desc>
    <section id="I60-I69"><desc>Cerebrovascular diseases (I60-I69)</desc>
      <diag><name>I69</name><desc>Sequelae of cerebrovascular disease</desc>
        <diag><name>I69.3</name><desc>Sequelae of cerebral infarction</desc>
          <diag><name>I69.35</name><desc>Hemiplegia and hemiparesis following cerebral infarction</desc>
            <diag><name>I69.351</name><desc>Hemiplegia and hemiparesis following cerebral infarction affecting right dominant side</desc></diag>
            <diag><name>I69.352</name><desc>Hemiplegia and hemiparesis following cerebral infarction affecting left dominant side</desc></diag>
            <diag><name>I69.353</name><desc>Hemiplegia and hemiparesis following cerebral infarction affecting right non-dominant side</desc></diag>
            <diag><name>I69.354</name><desc>Hemiplegia and hemiparesis following cerebral infarction affecting left non-dominant side</desc></diag>
            <diag><name>I69.359</name><desc>Hemiplegia and hemiparesis following cerebral infarction affecting unspecified side</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
    <section id="I10-I1A"><desc>Hypertensive diseases (I10-I1A)</desc>
      <diag><name>I10</name><desc>Essential (primary) hypertension</desc></diag>
      <diag><name>I11</name><desc>Hypertensive heart disease</desc>
        <diag><name>I11.0</name><desc>Hypertensive heart disease with heart failure</desc>
          <useAdditionalCode><note>code to identify type of heart failure (I50.-)</note></useAdditionalCode>
        </diag>
        <diag><name>I11.9</name><desc>Hypertensive heart disease without heart failure</desc></diag>
      </diag>
      <diag><name>I12</name><desc>Hypertensive chronic kidney disease</desc>
        <useAdditionalCode><note>code to identify the stage of chronic kidney disease (N18.1-N18.4, N18.9)</note></useAdditionalCode>
        <diag><name>I12.0</name><desc>Hypertensive chronic kidney disease with stage 5 chronic kidney disease or end stage renal disease</desc></diag>
        <diag><name>I12.9</name><desc>Hypertensive chronic kidney disease with stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease</desc></diag>
      </diag>
      <diag><name>I13</name><desc>Hypertensive heart and chronic kidney disease</desc>
        <useAdditionalCode><note>code to identify the stage of chronic kidney disease (N18.1-N18.6)</note></useAdditionalCode>
        <diag><name>I13.0</name><desc>Hypertensive heart and chronic kidney disease with heart failure and stage 1 through stage 4 chronic kidney disease, or unspecified chronic kidney disease</desc>
          <useAdditionalCode><note>code to identify type of heart failure (I50.-)</note></useAdditionalCode>
        </diag>
      </diag>
    </section>
    <section id="I30-I5A"><desc>Other forms of heart disease (I30-I5A)</desc>
      <diag><name>I50</name><desc>Heart failure</desc>
        <diag><name>I50.2</name><desc>Systolic (congestive) heart failure</desc>
          <diag><name>I50.23</name><desc>Acute on chronic systolic (congestive) heart failure</desc></diag>
        </diag>
        <diag><name>I50.9</name><desc>Heart failure, unspecified</desc></diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>10</name><desc>Respiratory (J00-J99)</desc>
    <section id="J09-J18"><desc>Influenza and pneumonia (J09-J18)</desc>
      <diag><name>J18</name><desc>Pneumonia, unspecified organism</desc>
        <diag><name>J18.9</name><desc>Pneumonia, unspecified organism</desc></diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>13</name><desc>Musculoskeletal (M00-M99)</desc>
    <section id="M15-M19"><desc>Osteoarthritis (M15-M19)</desc>
      <diag><name>M17</name><desc>Osteoarthritis of knee</desc>
        <diag><name>M17.1</name><desc>Unilateral primary osteoarthritis of knee</desc>
          <diag><name>M17.10</name><desc>Unilateral primary osteoarthritis, unspecified knee</desc></diag>
          <diag><name>M17.11</name><desc>Unilateral primary osteoarthritis, right knee</desc></diag>
          <diag><name>M17.12</name><desc>Unilateral primary osteoarthritis, left knee</desc></diag>
        </diag>
      </diag>
    </section>
    <section id="M80-M85"><desc>Disorders of bone density and structure (M80-M85)</desc>
      <diag><name>M80</name><desc>Osteoporosis with current pathological fracture</desc>
        <sevenChrDef>
          <extension char="A">initial encounter for fracture</extension>
          <extension char="D">subsequent encounter for fracture with routine healing</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <diag><name>M80.0</name><desc>Age-related osteoporosis with current pathological fracture</desc>
          <diag><name>M80.03</name><desc>Age-related osteoporosis with current pathological fracture, forearm</desc>
            <diag><name>M80.031</name><desc>Age-related osteoporosis with current pathological fracture, right forearm</desc></diag>
            <diag><name>M80.032</name><desc>Age-related osteoporosis with current pathological fracture, left forearm</desc></diag>
            <diag><name>M80.039</name><desc>Age-related osteoporosis with current pathological fracture, unspecified forearm</desc></diag>
          </diag>
          <diag><name>M80.08</name><desc>Age-related osteoporosis with current pathological fracture, vertebra(e)</desc></diag>
        </diag>
      </diag>
      <diag><name>M81</name><desc>Osteoporosis without current pathological fracture</desc>
        <diag><name>M81.0</name><desc>Age-related osteoporosis without current pathological fracture</desc></diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>19</name><desc>Injury (S00-T88)</desc>
    <section id="S50-S59"><desc>Injuries to the elbow and forearm (S50-S59)</desc>
      <diag><name>S52</name><desc>Fracture of forearm</desc>
        <sevenChrDef>
          <extension char="A">initial encounter for closed fracture</extension>
          <extension char="D">subsequent encounter for closed fracture with routine healing</extension>
          <extension char="S">sequela</extension>
        </sevenChrDef>
        <diag><name>S52.5</name><desc>Fracture of lower end of radius</desc>
          <diag><name>S52.50</name><desc>Unspecified fracture of the lower end of radius</desc>
            <diag><name>S52.502</name><desc>Unspecified fracture of the lower end of left radius</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>14</name><desc>Genitourinary (N00-N99)</desc>
    <section id="N17-N19"><desc>Acute kidney failure and chronic kidney disease (N17-N19)</desc>
      <diag><name>N18</name><desc>Chronic kidney disease (CKD)</desc>
        <diag><name>N18.4</name><desc>Chronic kidney disease, stage 4 (severe)</desc></diag>
        <diag><name>N18.9</name><desc>Chronic kidney disease, unspecified</desc></diag>
      </diag>
    </section>
  </chapter>
  <chapter><name>15</name><desc>Pregnancy, childbirth and the puerperium (O00-O9A)</desc>
    <section id="O10-O16"><desc>Edema, proteinuria and hypertensive disorders (O10-O16)</desc>
      <diag><name>O10</name><desc>Pre-existing hypertension complicating pregnancy, childbirth and the puerperium</desc>
        <diag><name>O10.0</name><desc>Pre-existing essential hypertension complicating pregnancy, childbirth and the puerperium</desc>
          <diag><name>O10.01</name><desc>Pre-existing essential hypertension complicating pregnancy</desc>
            <diag><name>O10.011</name><desc>Pre-existing essential hypertension complicating pregnancy, first trimester</desc></diag>
            <diag><name>O10.012</name><desc>Pre-existing essential hypertension complicating pregnancy, second trimester</desc></diag>
            <diag><name>O10.013</name><desc>Pre-existing essential hypertension complicating pregnancy, third trimester</desc></diag>
            <diag><name>O10.019</name><desc>Pre-existing essential hypertension complicating pregnancy, unspecified trimester</desc></diag>
          </diag>
        </diag>
      </diag>
    </section>
    <section id="O60-O77"><desc>Complications of labor and delivery (O60-O77)</desc>
      <diag><name>O72</name><desc>Postpartum hemorrhage</desc>
        <diag><name>O72.1</name><desc>Other immediate postpartum hemorrhage</desc></diag>
      </diag>
    </section>
    <section id="O80-O82"><desc>Encounter for delivery (O80-O82)</desc>
      <diag><name>O80</name><desc>Encounter for full-term uncomplicated delivery</desc></diag>
    </section>
  </chapter>
  <chapter><name>18</name><desc>Symptoms (R00-R99)</desc>
    <section id="R50-R69"><desc>General symptoms and signs (R50-R69)</desc>
      <diag><name>R50</name><desc>Fever of other and unknown origin</desc>
        <diag><name>R50.9</name><desc>Fever, unspecified</desc></diag>
      </diag>
      <diag><name>R69</name><desc>Illness, unspecified</desc></diag>
    </section>
  </chapter>
  <chapter><name>21</name><desc>Factors influencing health status (Z00-Z99)</desc>
    <section id="Z00-Z13"><desc>Persons encountering health services for examinations (Z00-Z13)</desc>
      <diag><name>Z00</name><desc>Encounter for general examination without complaint, suspected or reported diagnosis</desc>
        <diag><name>Z00.0</name><desc>Encounter for general adult medical examination</desc>
          <diag><name>Z00.00</name><desc>Encounter for general adult medical examination without abnormal findings</desc></diag>
        </diag>
      </diag>
      <diag><name>Z09</name><desc>Encounter for follow-up examination after completed treatment for conditions other than malignant neoplasm</desc></diag>
    </section>
    <section id="Z77-Z99"><desc>Persons with potential health hazards related to family and personal history (Z77-Z99)</desc>
      <diag><name>Z86</name><desc>Personal history of certain other diseases</desc>
        <diag><name>Z86.7</name><desc>Personal history of diseases of the circulatory system</desc>
          <diag><name>Z86.73</name><desc>Personal history of transient ischemic attack (TIA), and cerebral infarction without residual deficits</desc></diag>
        </diag>
      </diag>
    </section>
    <section id="Z30-Z39"><desc>Persons encountering health services in circumstances related to reproduction (Z30-Z39)</desc>
      <diag><name>Z33</name><desc>Pregnant state</desc>
        <diag><name>Z33.1</name><desc>Pregnant state, incidental</desc></diag>
        <diag><name>Z33.2</name><desc>Encounter for elective termination of pregnancy</desc></diag>
      </diag>
      <diag><name>Z34</name><desc>Encounter for supervision of normal pregnancy</desc>
        <diag><name>Z34.0</name><desc>Encounter for supervision of normal first pregnancy</desc>
          <diag><name>Z34.01</name><desc>Encounter for supervision of normal first pregnancy, first trimester</desc></diag>
          <diag><name>Z34.02</name><desc>Encounter for supervision of normal first pregnancy, second trimester</desc></diag>
        </diag>
      </diag>
      <diag><name>Z37</name><desc>Outcome of delivery</desc>
        <diag><name>Z37.0</name><desc>Single live birth</desc></diag>
      </diag>
      <diag><name>Z3A</name><desc>Weeks of gestation</desc>
        <diag><name>Z3A.2</name><desc>Weeks of gestation of pregnancy, weeks 20-29</desc>
          <diag><name>Z3A.20</name><desc>20 weeks gestation of pregnancy</desc></diag>
          <diag><name>Z3A.29</name><desc>29 weeks gestation of pregnancy</desc></diag>
        </diag>
      </diag>
    </section>
  </chapter>
</ICD10CM.tabular>
"#;

fn code_set() -> CodeSet {
    CodeSet::fixture(TABULAR)
}

struct Case {
    codes: CodeSet,
    note: Note,
    findings: Vec<Finding>,
}

impl Case {
    /// `text`, and findings given as (code, words of the note that name it, assertion).
    fn new(text: &str, findings: &[(&str, &str, Assertion)]) -> Case {
        let codes = code_set();
        let note = Note::analyze(text);
        let findings = findings
            .iter()
            .map(|&(code, words, assertion)| Finding {
                code: codes
                    .find(code)
                    .unwrap_or_else(|| panic!("{code} in fixture")),
                assertion,
                terms: if words.is_empty() {
                    Vec::new()
                } else {
                    vec![span_of(&note, words)]
                },
                inferred: Vec::new(),
            })
            .collect();
        Case {
            codes,
            note,
            findings,
        }
    }

    fn verdict(&self, setting: Setting) -> Verdict {
        Guidelines::new(&self.codes).apply(&self.codes, &self.note, &self.findings, setting)
    }

    /// The codes reported: kept findings, then additions.
    fn reported(&self, setting: Setting) -> Vec<String> {
        let v = self.verdict(setting);
        let mut out: Vec<String> = self
            .findings
            .iter()
            .zip(&v.dropped)
            .filter(|(_, d)| d.is_none())
            .map(|(f, _)| self.codes.get(f.code).display())
            .chain(v.added.iter().map(|a| self.codes.get(a.code).display()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    fn dropped_by(&self, code: &str, setting: Setting) -> Option<RuleNote> {
        let v = self.verdict(setting);
        let id = self.codes.find(code)?;
        self.findings
            .iter()
            .position(|f| f.code == id)
            .and_then(|i| v.dropped[i].clone())
    }
}

/// The span of `words` (lower case, whole tokens) in the note.
fn span_of(note: &Note, words: &str) -> TermSpan {
    let wanted: Vec<&str> = words.split(' ').collect();
    let norms: Vec<&str> = note.tokens.iter().map(|t| t.norm.as_str()).collect();
    let start = norms
        .windows(wanted.len())
        .position(|w| w == wanted.as_slice())
        .unwrap_or_else(|| panic!("`{words}` not in note: {norms:?}"));
    let tokens: Vec<usize> = (start..start + wanted.len()).collect();
    TermSpan {
        sentence: note.sentence_of_token(start),
        words: wanted.len(),
        tokens,
        coverage: 1.0,
        placed: true,
    }
}

use Assertion::{Present, Uncertain};
use Setting::{Inpatient, Outpatient};

#[test]
fn every_data_row_parses_and_names_its_section() {
    for data in [
        PRESUMED_LINKS,
        INTEGRAL_SYMPTOMS,
        REPORTING,
        CONFIRMED_ONLY,
        PREGNANCY,
        NOT_TOGETHER,
        ONLY_WITH,
    ] {
        let header = rows(data).next();
        assert!(header.is_some(), "data file without rows");
        let columns = data
            .lines()
            .find(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| l.split('\t').count())
            .unwrap_or(0);
        for row in rows(data) {
            assert!(
                row.len() >= columns - 1,
                "row {row:?} has {} of {columns} columns",
                row.len()
            );
        }
    }
    for row in rows(PRESUMED_LINKS) {
        assert!(
            row[1].starts_with("I."),
            "presumed link {} cites no guideline section",
            row[0]
        );
    }
}

#[test]
fn hypertension_with_ckd_is_presumed_hypertensive_ckd() {
    let case = Case::new(
        "Assessment: hypertension. Chronic kidney disease stage 4.",
        &[
            ("I10", "hypertension", Present),
            ("N18.4", "chronic kidney disease stage 4", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["I12.9", "N18.4"]);
    let v = case.verdict(Inpatient);
    let rule = &v.added[0].rule;
    assert_eq!(rule.kind, "presumed_link");
    assert_eq!(rule.guideline.as_deref(), Some("I.C.9.a.2"));
    assert_eq!(
        case.dropped_by("I10", Inpatient).map(|r| r.kind),
        Some("combination".into())
    );
}

#[test]
fn a_reason_for_an_encounter_only_where_the_note_states_it() {
    let reported = |text: &str, code: &str, words: &str| {
        Case::new(text, &[(code, words, Present)]).reported(Inpatient)
    };
    let exam = "Z00.00";
    assert_eq!(
        reported(
            "Annual physical examination. No complaints.",
            exam,
            "physical examination"
        ),
        [exam]
    );
    assert_eq!(
        reported(
            "Feels well. Presents for a routine physical examination.",
            exam,
            "physical examination"
        ),
        [exam]
    );
    assert!(reported(
        "Chest pain since this morning. Physical examination was normal.",
        exam,
        "physical examination"
    )
    .is_empty());
    assert!(reported(
        "Iron deficiency anemia due to chronic blood loss from a routine physical examination.",
        exam,
        "physical examination"
    )
    .is_empty());
    let plan = Case::new(
        "Cough resolved with amoxicillin. Follow-up in two weeks.",
        &[("Z09", "follow - up", Present)],
    );
    let rule = plan.dropped_by("Z09", Inpatient).expect("Z09 dropped");
    assert_eq!(rule.kind, "encounter_reason");
    assert_eq!(rule.guideline.as_deref(), Some("I.C.21.c.8"));
}

#[test]
fn another_stated_cause_lifts_the_presumption() {
    let case = Case::new(
        "Hypertension. Chronic kidney disease stage 4 due to lupus nephritis.",
        &[
            ("I10", "hypertension", Present),
            ("N18.4", "chronic kidney disease stage 4", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["I10", "N18.4"]);
}

#[test]
fn hypertension_heart_failure_and_ckd_make_one_combination() {
    let case = Case::new(
        "Acute on chronic systolic heart failure. Hypertension. CKD stage 4.",
        &[
            ("I50.23", "acute on chronic systolic heart failure", Present),
            ("I10", "hypertension", Present),
            ("N18.4", "ckd stage 4", Present),
        ],
    );
    // I13.0 says the hypertension, the heart failure and the CKD; its notes ask for the
    // type of heart failure and the stage of CKD.
    assert_eq!(case.reported(Inpatient), ["I13.0", "I50.23", "N18.4"]);
    assert_eq!(
        case.verdict(Inpatient).added[0].rule.guideline.as_deref(),
        Some("I.C.9.a.3")
    );
}

#[test]
fn a_combination_code_replaces_the_parts_it_states() {
    let case = Case::new(
        "Type 2 diabetes with neuropathy.",
        &[
            ("E11.40", "type 2 diabetes with neuropathy", Present),
            ("G62.9", "neuropathy", Present),
            ("E11.9", "type 2 diabetes", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["E11.40"]);
    // The presumed link (diabetes "with" neuropathy) and the combination rule agree.
    let rule = case.dropped_by("G62.9", Inpatient).expect("G62.9 dropped");
    assert_eq!(rule.codes, ["E11.40"]);
    // A phrase inside a longer one that a combination code states in full, with no
    // presumed link to say so, goes by I.B.9.
    let case = Case::new(
        "Acute on chronic systolic heart failure.",
        &[
            ("I50.23", "acute on chronic systolic heart failure", Present),
            ("I50.9", "heart failure", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["I50.23"]);
    let rule = case.dropped_by("I50.9", Inpatient).expect("I50.9 dropped");
    assert_eq!(rule.guideline.as_deref(), Some("I.B.9"));
}

#[test]
fn a_part_the_tabular_asks_for_is_kept() {
    // E11.22 "use additional code to identify stage of chronic kidney disease".
    let case = Case::new(
        "Type 2 diabetes with chronic kidney disease stage 4.",
        &[
            (
                "E11.22",
                "type 2 diabetes with chronic kidney disease stage 4",
                Present,
            ),
            ("N18.4", "chronic kidney disease stage 4", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["E11.22", "N18.4"]);
}

#[test]
fn diabetes_and_ckd_anywhere_in_the_note_are_linked() {
    let case = Case::new(
        "PMH: type 2 diabetes. Labs: chronic kidney disease stage 4.",
        &[
            ("E11.9", "type 2 diabetes", Present),
            ("N18.4", "chronic kidney disease stage 4", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["E11.22", "N18.4"]);
    assert_eq!(
        case.dropped_by("E11.9", Inpatient).map(|r| r.kind),
        Some("unspecified".into())
    );
}

#[test]
fn an_unspecified_sibling_goes_beside_the_specific_code() {
    let case = Case::new(
        "Heart failure. Acute on chronic systolic heart failure.",
        &[
            ("I50.9", "heart failure", Present),
            ("I50.23", "acute on chronic systolic heart failure", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["I50.23"]);
}

#[test]
fn an_unspecified_subcategory_goes_beside_a_specific_one_of_its_category() {
    // G43.909 lies under G43.90 "Migraine, unspecified, not intractable" and G43.9
    // "Migraine, unspecified": both the unspecified form of G43, where G43.109 is.
    let case = Case::new(
        "Migraine with aura.",
        &[
            ("G43.909", "migraine", Present),
            ("G43.109", "migraine with aura", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["G43.109"]);
}

#[test]
fn a_learned_only_specific_code_does_not_remove_the_stated_one() {
    let case = Case::new(
        "Heart failure.",
        &[("I50.9", "heart failure", Present), ("I50.23", "", Present)],
    );
    assert_eq!(case.reported(Inpatient), ["I50.23", "I50.9"]);
}

#[test]
fn a_symptom_integral_to_a_confirmed_diagnosis_is_not_coded() {
    let case = Case::new(
        "Fever. Pneumonia.",
        &[("R50.9", "fever", Present), ("J18.9", "pneumonia", Present)],
    );
    assert_eq!(case.reported(Inpatient), ["J18.9"]);
    assert_eq!(
        case.dropped_by("R50.9", Inpatient)
            .and_then(|r| r.guideline),
        Some("I.C.18.b".into())
    );
}

#[test]
fn outpatient_uncertain_diagnoses_are_not_coded_and_their_symptoms_are() {
    let case = Case::new(
        "Fever. Rule out pneumonia.",
        &[
            ("R50.9", "fever", Present),
            ("J18.9", "pneumonia", Uncertain),
        ],
    );
    assert_eq!(case.reported(Outpatient), ["R50.9"]);
    // Inpatient, the uncertain diagnosis is coded as established (II.H) and the fever is
    // integral to it.
    assert_eq!(case.reported(Inpatient), ["J18.9"]);
}

#[test]
fn illness_unspecified_goes_beside_a_diagnosis() {
    let case = Case::new(
        "Illness. Pneumonia.",
        &[("R69", "illness", Present), ("J18.9", "pneumonia", Present)],
    );
    assert_eq!(case.reported(Inpatient), ["J18.9"]);
    let alone = Case::new("Illness.", &[("R69", "illness", Present)]);
    assert_eq!(alone.reported(Inpatient), ["R69"]);
}

#[test]
fn categories_are_never_reported() {
    let case = Case::new("Diabetes.", &[("E11", "diabetes", Present)]);
    assert!(case.reported(Inpatient).is_empty());
    assert_eq!(
        case.dropped_by("E11", Inpatient).and_then(|r| r.guideline),
        Some("I.B.2".into())
    );
}

#[test]
fn the_side_the_note_states_replaces_an_unspecified_side() {
    let case = Case::new(
        "Primary osteoarthritis of the left knee.",
        &[("M17.10", "primary osteoarthritis of the left knee", Present)],
    );
    assert_eq!(case.reported(Inpatient), ["M17.12"]);
    let v = case.verdict(Inpatient);
    assert_eq!(v.added[0].rule.guideline.as_deref(), Some("I.B.13"));
    // Both sides named: the coder decides (bilateral has its own code).
    let both = Case::new(
        "Primary osteoarthritis of left and right knee.",
        &[("M17.10", "primary osteoarthritis", Present)],
    );
    assert_eq!(both.reported(Inpatient), ["M17.10"]);
}

#[test]
fn the_specific_code_whose_words_the_note_states_replaces_the_unspecified_one() {
    // "cigarettes", in a clause a semicolon joins to the mention, is F17.21-'s axis.
    let case = Case::new(
        "Smokes 1 ppd cigarettes; nicotine dependent.",
        &[("F17.200", "nicotine dependent", Present)],
    );
    assert_eq!(case.reported(Inpatient), ["F17.210"]);
    assert_eq!(
        case.dropped_by("F17.200", Inpatient).map(|r| r.kind),
        Some("stated_axis".to_string())
    );
    // The same words far from the mention, or denied, say nothing of it.
    for text in [
        "Nicotine dependent. He quit the job at the cigarettes factory last spring after many years.",
        "Nicotine dependent, no cigarettes (vapes only).",
    ] {
        let words = "nicotine dependent";
        let case = Case::new(text, &[("F17.200", words, Present)]);
        assert_eq!(case.reported(Inpatient), ["F17.200"], "{text}");
    }
}

#[test]
fn a_condition_in_a_pregnancy_note_takes_its_chapter_15_code_and_trimester() {
    let text = "Pre-existing essential hypertension. 20 weeks pregnant.";
    let case = Case::new(
        text,
        &[
            ("I10", "hypertension", Present),
            ("Z3A.20", "20 weeks", Present),
        ],
    );
    // 20 weeks is the second trimester (14 weeks 0 days to less than 28 weeks 0 days).
    assert_eq!(case.reported(Inpatient), ["O10.012", "Z3A.20"]);
    let v = case.verdict(Inpatient);
    assert_eq!(v.added[0].rule.guideline.as_deref(), Some("I.C.15.d"));
    assert_eq!(
        case.dropped_by("I10", Inpatient).map(|r| r.codes),
        Some(vec!["O10.012".to_string()])
    );
    // A trimester the note names wins over the weeks.
    let named = Case::new(
        "Pre-existing essential hypertension in the third trimester; 29 weeks pregnant.",
        &[
            ("I10", "hypertension", Present),
            ("Z3A.29", "29 weeks", Present),
        ],
    );
    assert_eq!(named.reported(Inpatient), ["O10.013", "Z3A.29"]);
}

#[test]
fn an_incidental_pregnancy_keeps_the_conditions_own_code() {
    let case = Case::new(
        "Hypertension follow-up. 20 weeks pregnant, incidental to this visit.",
        &[
            ("I10", "hypertension", Present),
            ("Z33.1", "pregnant , incidental", Present),
            ("Z3A.20", "20 weeks", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["I10", "Z33.1", "Z3A.20"]);
}

#[test]
fn weeks_of_gestation_go_with_a_pregnancy_encounter_not_a_termination() {
    // Tabular Z3A "code first obstetric condition or encounter for delivery"; I.C.21.c.11.
    let case = Case::new(
        "Elective termination of pregnancy at 20 weeks.",
        &[
            ("Z33.2", "elective termination of pregnancy", Present),
            ("Z3A.20", "20 weeks", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["Z33.2"]);
    assert_eq!(
        case.dropped_by("Z3A.20", Inpatient).map(|r| r.kind),
        Some("only_with".into())
    );
}

#[test]
fn an_uncomplicated_delivery_code_stands_alone_in_chapter_15() {
    // Tabular O80: "not to be used with any other code from chapter 15" (I.C.15.n.1).
    let normal = Case::new(
        "Spontaneous vaginal delivery at 29 weeks. Single liveborn.",
        &[
            ("O80", "spontaneous vaginal delivery", Present),
            ("Z3A.29", "29 weeks", Present),
            ("Z37.0", "single liveborn", Present),
        ],
    );
    assert_eq!(normal.reported(Inpatient), ["O80", "Z37.0", "Z3A.29"]);
    let complicated = Case::new(
        "Spontaneous vaginal delivery at 29 weeks with postpartum hemorrhage.",
        &[
            ("O80", "spontaneous vaginal delivery", Present),
            ("O72.1", "postpartum hemorrhage", Present),
            ("Z3A.29", "29 weeks", Present),
        ],
    );
    assert_eq!(complicated.reported(Inpatient), ["O72.1", "Z3A.29"]);
}

#[test]
fn a_reading_of_another_trimester_than_the_notes_is_dropped() {
    // "first pregnancy" read as "..., first trimester" at 20 weeks (second trimester).
    let case = Case::new(
        "Prenatal visit, first pregnancy, 20 weeks pregnant.",
        &[
            ("Z34.01", "prenatal visit , first pregnancy", Present),
            ("Z34.02", "prenatal visit , first pregnancy", Present),
            ("Z3A.20", "20 weeks", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["Z34.02", "Z3A.20"]);
}

#[test]
fn an_unspecified_trimester_code_takes_the_trimester_of_the_weeks() {
    let case = Case::new(
        "Pre-existing essential hypertension complicating pregnancy at 20 weeks.",
        &[
            (
                "O10.019",
                "pre - existing essential hypertension complicating pregnancy",
                Present,
            ),
            ("Z3A.20", "20 weeks", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["O10.012", "Z3A.20"]);
    assert_eq!(
        case.dropped_by("O10.019", Inpatient)
            .and_then(|r| r.guideline),
        Some("I.C.15.a.3".into())
    );
}

#[test]
fn every_switchable_rule_is_listed_in_rules() {
    // The names `apply_except` switches on, read from its source, are the names of RULES:
    // `eval --rule-effects` measures every rule and no name is misspelt.
    let source = include_str!("mod.rs");
    let used: Vec<&str> = source
        .split("on(\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    assert!(used.len() >= 15, "found only {used:?}");
    for name in &used {
        assert!(
            RULES.iter().any(|(n, _)| n == name),
            "rule {name} is switched in apply_except but missing from RULES"
        );
    }
    for (name, _) in RULES {
        assert!(
            used.contains(name),
            "RULES lists {name}, which apply_except never switches"
        );
    }
}

#[test]
fn a_chapter_15_code_needs_a_pregnancy_in_the_note() {
    // O10.019 read from words of its title with no pregnancy stated (I.C.15.a).
    let text = "Pre-existing essential hypertension, poorly controlled.";
    let case = Case::new(text, &[("O10.019", "essential hypertension", Present)]);
    assert!(case.reported(Inpatient).is_empty());
    assert_eq!(
        case.dropped_by("O10.019", Inpatient).map(|r| r.kind),
        Some("pregnancy_context".to_string())
    );
    for text in [
        "Pre-existing essential hypertension in pregnancy.",
        "Pre-existing essential hypertension; G2P1, postpartum day 2.",
        "Pre-existing essential hypertension, 3 days after C-section.",
    ] {
        let case = Case::new(text, &[("O10.019", "essential hypertension", Present)]);
        assert_eq!(case.reported(Inpatient), ["O10.019"], "{text}");
    }
}

#[test]
fn a_code_only_inferred_on_words_stating_its_excludes1_partner_is_not_reported() {
    // I.A.12.a: F32 "Excludes1: recurrent depressive disorder (F33.-)". F33.1 found only by
    // likeness on the words that state F32.1 in full is not reported beside it; found on
    // other words of the sentence, it is left to the ranking.
    let codes = CodeSet::fixture(include_str!("../../tests/fixtures/tabular-engine.xml"));
    let note = Note::analyze("Major depressive disorder, moderate. Recurrent episodes since 2019.");
    // A term's tokens are its words (no punctuation); an inferred span is the phrase.
    let words_of = |words: &str| {
        let mut span = span_of(&note, words);
        span.tokens
            .retain(|&k| note.tokens[k].norm.chars().any(char::is_alphanumeric));
        span
    };
    let finding = |code: &str, stated: Option<&str>, inferred: &str| Finding {
        code: codes.find(code).expect("in fixture"),
        assertion: Present,
        terms: stated.map(|w| vec![words_of(w)]).unwrap_or_default(),
        inferred: vec![span_of(&note, inferred)],
    };
    let reported = |findings: &[Finding]| -> Vec<String> {
        let verdict = Guidelines::new(&codes).apply(&codes, &note, findings, Inpatient);
        findings
            .iter()
            .zip(&verdict.dropped)
            .filter(|(_, d)| d.is_none())
            .map(|(f, _)| codes.get(f.code).display())
            .collect()
    };
    let stated = finding(
        "F32.1",
        Some("major depressive disorder , moderate"),
        "major depressive disorder , moderate",
    );
    let same_words = finding("F33.1", None, "major depressive disorder , moderate");
    assert_eq!(reported(&[stated.clone(), same_words]), ["F32.1"]);
    let other_words = finding("F33.1", None, "recurrent episodes");
    assert_eq!(reported(&[stated, other_words]), ["F32.1", "F33.1"]);
}

#[test]
fn a_title_word_is_affirmed_in_any_of_its_forms_and_not_under_a_denial() {
    let analyzer = crate::index::Analyzer::new();
    let k35_32 =
        "Acute appendicitis with perforation, localized peritonitis, and gangrene, without abscess";
    // "not perforated" denies the title's "with perforation".
    assert!(title_affirms(&analyzer, k35_32, "perforated"));
    assert!(title_affirms(&analyzer, k35_32, "gangrenous"));
    // A word the title itself denies is not affirmed by it.
    assert!(!title_affirms(&analyzer, k35_32, "abscess"));
    assert!(!title_affirms(&analyzer, k35_32, "hematuria"));
}

#[test]
fn a_fracture_in_osteoporosis_is_one_m80_code_by_site_side_and_encounter() {
    let case = Case::new(
        "Postmenopausal osteoporosis. Fell at home and fractured the left distal radius. \
         Follow-up visit, routine healing.",
        &[
            ("M81.0", "postmenopausal osteoporosis", Present),
            ("S52.502D", "fractured the left distal radius", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["M80.032D"]);
    assert_eq!(
        case.dropped_by("S52.502D", Inpatient)
            .and_then(|r| r.guideline),
        Some("I.C.13.d.2".into())
    );
    // A motor vehicle collision breaks a healthy bone: the fracture stays traumatic.
    let crash = Case::new(
        "Postmenopausal osteoporosis. Motor vehicle collision; fracture of left distal radius.",
        &[
            ("M81.0", "postmenopausal osteoporosis", Present),
            ("S52.502A", "fracture of left distal radius", Present),
        ],
    );
    assert_eq!(crash.reported(Inpatient), ["M81.0", "S52.502A"]);
    // A fracture of the past is no current fracture.
    let past = Case::new(
        "Postmenopausal osteoporosis. Fracture of left distal radius in 2019.",
        &[
            ("M81.0", "postmenopausal osteoporosis", Present),
            (
                "S52.502A",
                "fracture of left distal radius",
                Assertion::Historical,
            ),
        ],
    );
    assert!(past.reported(Inpatient).contains(&"M81.0".to_string()));
    assert!(!past
        .reported(Inpatient)
        .iter()
        .any(|c| c.starts_with("M80")));
}

#[test]
fn a_hemiplegia_the_note_calls_residual_of_a_stroke_is_its_sequela_by_side_and_dominance() {
    // I.C.9.d with I.C.6.a: the left side of a left-handed patient is the dominant one.
    let case = Case::new(
        "Residual left hemiparesis from prior stroke. Patient is left-handed.",
        &[
            ("Z86.73", "stroke", Present),
            ("G81.90", "hemiparesis", Present),
        ],
    );
    assert_eq!(case.reported(Inpatient), ["I69.352"]);
    // Without a hand named, the left side is nondominant; without "residual" or "from
    // prior", no link is presumed (the Index's "following" is no "with").
    let default_hand = Case::new(
        "Residual left hemiparesis from prior stroke.",
        &[
            ("Z86.73", "stroke", Present),
            ("G81.90", "hemiparesis", Present),
        ],
    );
    assert_eq!(default_hand.reported(Inpatient), ["I69.354"]);
    let unlinked = Case::new(
        "History of stroke. Right hemiparesis.",
        &[
            ("Z86.73", "stroke", Present),
            ("G81.90", "hemiparesis", Present),
        ],
    );
    assert_eq!(unlinked.reported(Inpatient), ["G81.91", "Z86.73"]);
}
