//! The 7th character of an injury, poisoning or fracture code from what the note states
//! (I.C.19.a, I.C.19.c.1): the encounter, how a fracture heals and whether it is open. The
//! trigger words are data (`data/encounter_words.tsv`); the characters are chosen among
//! the code's own 7th-character meanings ("subsequent encounter for fracture with
//! nonunion"), so no letter is written here.

const ENCOUNTER_WORDS: &str = include_str!("data/encounter_words.tsv");

/// What the note states, as words of the 7th characters' meanings.
#[derive(Debug, Default, PartialEq)]
struct Stated {
    encounter: Option<&'static str>,
    healing: Option<&'static str>,
    open: bool,
    gustilo: Option<&'static str>,
    /// Features a "with X" / "without X" character names, stated or not ("tophus").
    features_stated: Vec<&'static str>,
    features_known: Vec<&'static str>,
}

fn stated(note_lower: &str) -> Stated {
    let mut out = Stated::default();
    let words: Vec<&str> = note_lower
        .split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|w| !w.is_empty())
        .collect();
    let says = |phrase: &str| {
        let p: Vec<&str> = phrase.split(' ').collect();
        words.windows(p.len()).any(|w| w == p.as_slice())
    };
    // "Without tophi" states no tophus.
    let says_affirmed = |phrase: &str| {
        let p: Vec<&str> = phrase.split(' ').collect();
        words.windows(p.len()).enumerate().any(|(i, w)| {
            w == p.as_slice() && (i == 0 || !matches!(words[i - 1], "without" | "no" | "non"))
        })
    };
    for row in super::rows(ENCOUNTER_WORDS) {
        let [phrase, states, meaning, ..] = row.as_slice() else {
            continue;
        };
        let meaning: &'static str = meaning;
        if *states == "feature" && !out.features_known.contains(&meaning) {
            out.features_known.push(meaning);
        }
        if !says(phrase) {
            continue;
        }
        if *states == "feature" && !says_affirmed(phrase) {
            continue;
        }
        match *states {
            // Sequela outranks subsequent, which outranks the initial default.
            "encounter" if out.encounter != Some("sequela") => out.encounter = Some(meaning),
            "healing" => out.healing = Some(meaning),
            "fracture" => out.open = true,
            "gustilo" => out.gustilo = Some(meaning),
            "feature" if !out.features_stated.contains(&meaning) => {
                out.features_stated.push(meaning)
            }
            _ => {}
        }
    }
    out
}

/// The 7th character whose meaning fits what the note states, among `(character,
/// meaning)`; `None` when none fits (the caller keeps its default).
pub fn choose(extensions: &[(char, String)], note_lower: &str) -> Option<char> {
    let s = stated(note_lower);
    let encounter = s.encounter.unwrap_or("initial");
    let fits = |meaning: &str| {
        let m = meaning.to_ascii_lowercase();
        // Characters of another axis (M1A's tophus) say nothing of the encounter.
        let about_encounter = m.contains("encounter") || m.contains("sequela");
        if about_encounter && !m.contains(encounter) {
            return false;
        }
        for feature in &s.features_known {
            let stated = s.features_stated.contains(feature);
            if m.contains(&format!("without {feature}")) {
                if stated {
                    return false;
                }
            } else if m.contains(&format!("with {feature}")) && !stated {
                return false;
            }
        }
        let open = m.contains("open");
        if m.contains("closed") && s.open || open && !s.open {
            return false;
        }
        if open {
            // Type I or II unless the note says type III.
            let type_iii = m.contains("iiia");
            if type_iii != s.gustilo.is_some() {
                return false;
            }
        }
        let healing_named = ["routine healing", "delayed healing", "nonunion", "malunion"]
            .iter()
            .find(|h| m.contains(*h));
        match (healing_named, s.healing) {
            (Some(h), Some(stated)) => *h == stated,
            // A subsequent encounter of a fracture is routine healing unless stated otherwise.
            (Some(h), None) => *h == "routine healing",
            (None, _) => true,
        }
    };
    extensions
        .iter()
        .find(|(_, meaning)| fits(meaning))
        .map(|(c, _)| *c)
}

#[cfg(test)]
mod tests {
    use super::choose;

    fn fracture() -> Vec<(char, String)> {
        [
            ('A', "initial encounter for closed fracture"),
            ('B', "initial encounter for open fracture type I or II"),
            (
                'C',
                "initial encounter for open fracture type IIIA, IIIB, or IIIC",
            ),
            (
                'D',
                "subsequent encounter for closed fracture with routine healing",
            ),
            (
                'E',
                "subsequent encounter for open fracture type I or II with routine healing",
            ),
            (
                'G',
                "subsequent encounter for closed fracture with delayed healing",
            ),
            (
                'K',
                "subsequent encounter for closed fracture with nonunion",
            ),
            (
                'P',
                "subsequent encounter for closed fracture with malunion",
            ),
            ('S', "sequela"),
        ]
        .into_iter()
        .map(|(c, m)| (c, m.to_string()))
        .collect()
    }

    #[test]
    fn the_encounter_healing_and_openness_the_note_states_choose_the_character() {
        let f = fracture();
        assert_eq!(choose(&f, "closed fracture of the left radius."), Some('A'));
        assert_eq!(
            choose(&f, "open fracture of left tibial shaft, gustilo type ii."),
            Some('B')
        );
        assert_eq!(
            choose(&f, "open fracture, gustilo type iiib, initial encounter."),
            Some('C')
        );
        assert_eq!(
            choose(&f, "cast check: healing fracture, routine healing."),
            Some('D')
        );
        assert_eq!(
            choose(
                &f,
                "nonunion of right clavicle fracture, 4 months after the injury."
            ),
            Some('K')
        );
        assert_eq!(
            choose(&f, "sequela of an old fracture; aftercare."),
            Some('S')
        );
        // "Open reduction" is a procedure, not an open fracture.
        assert_eq!(choose(&f, "fracture treated by open reduction."), Some('A'));
    }

    #[test]
    fn injuries_without_fracture_characters_take_the_encounter() {
        let sprain: Vec<(char, String)> = [
            ('A', "initial encounter"),
            ('D', "subsequent encounter"),
            ('S', "sequela"),
        ]
        .into_iter()
        .map(|(c, m)| (c, m.to_string()))
        .collect();
        assert_eq!(choose(&sprain, "ankle sprain, follow-up visit."), Some('D'));
        assert_eq!(choose(&sprain, "ankle sprain today."), Some('A'));
    }

    #[test]
    fn a_feature_the_note_states_chooses_the_with_character() {
        let gout: Vec<(char, String)> = [
            ('0', "without tophus (tophi)"),
            ('1', "with tophus (tophi)"),
        ]
        .into_iter()
        .map(|(c, m)| (c, m.to_string()))
        .collect();
        assert_eq!(
            choose(&gout, "chronic tophaceous gout of the left knee."),
            Some('1')
        );
        assert_eq!(
            choose(&gout, "chronic gout with tophi, left knee."),
            Some('1')
        );
        assert_eq!(choose(&gout, "chronic gout of the left knee."), Some('0'));
        assert_eq!(choose(&gout, "chronic gout without tophi."), Some('0'));
    }
}
