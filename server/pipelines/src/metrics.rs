//! Evaluation metrics: accuracy, precision, recall, F1 and ROC AUC for classifiers (binary:
//! class 1 is positive; multiclass: macro averages), RMSE and MAE for regressors.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Task {
    Binary,
    Multiclass,
    Regression,
}

impl Task {
    /// The metrics this task reports.
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            Task::Binary => &["accuracy", "precision", "recall", "f1", "roc_auc"],
            Task::Multiclass => &["accuracy", "precision", "recall", "f1"],
            Task::Regression => &["rmse", "mae"],
        }
    }
}

/// Whether a larger value of `metric` is better (errors are better small).
pub fn higher_is_better(metric: &str) -> bool {
    !matches!(metric, "rmse" | "mae")
}

pub type Metrics = BTreeMap<String, f64>;

fn ratio(num: f64, den: f64) -> f64 {
    if den == 0.0 { 0.0 } else { num / den }
}

fn precision_recall_f1(labels: &[i64], predicted: &[i64], class: i64) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0.0, 0.0, 0.0);
    for (&l, &p) in labels.iter().zip(predicted) {
        match (l == class, p == class) {
            (true, true) => tp += 1.0,
            (false, true) => fp += 1.0,
            (true, false) => fn_ += 1.0,
            _ => {}
        }
    }
    let precision = ratio(tp, tp + fp);
    let recall = ratio(tp, tp + fn_);
    (
        precision,
        recall,
        ratio(2.0 * precision * recall, precision + recall),
    )
}

/// Area under the ROC curve from scores of the positive class (ties count half), by ranks.
pub fn roc_auc(labels: &[i64], scores: &[f64]) -> Option<f64> {
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|&&l| l == 1).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    // Average ranks over ties, then the Mann-Whitney U statistic.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += (i..=j).filter(|&k| labels[order[k]] == 1).count() as f64 * rank;
        i = j + 1;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// Classification metrics; `scores` (positive-class scores) adds ROC AUC for binary tasks.
pub fn classification(
    task: Task,
    labels: &[i64],
    predicted: &[i64],
    scores: Option<&[f64]>,
) -> Metrics {
    let n = labels.len() as f64;
    let correct = labels.iter().zip(predicted).filter(|(l, p)| l == p).count() as f64;
    let mut metrics = Metrics::from([("accuracy".to_owned(), ratio(correct, n))]);
    let (precision, recall, f1) = if task == Task::Binary {
        precision_recall_f1(labels, predicted, 1)
    } else {
        let classes: BTreeSet<i64> = labels.iter().chain(predicted).copied().collect();
        let per_class: Vec<_> = classes
            .iter()
            .map(|&c| precision_recall_f1(labels, predicted, c))
            .collect();
        let k = per_class.len().max(1) as f64;
        (
            per_class.iter().map(|m| m.0).sum::<f64>() / k,
            per_class.iter().map(|m| m.1).sum::<f64>() / k,
            per_class.iter().map(|m| m.2).sum::<f64>() / k,
        )
    };
    metrics.insert("precision".into(), precision);
    metrics.insert("recall".into(), recall);
    metrics.insert("f1".into(), f1);
    if task == Task::Binary
        && let Some(auc) = scores.and_then(|s| roc_auc(labels, s))
    {
        metrics.insert("roc_auc".into(), auc);
    }
    metrics
}

pub fn regression(truth: &[f64], predicted: &[f64]) -> Metrics {
    let n = truth.len().max(1) as f64;
    let (mut squared, mut absolute) = (0.0, 0.0);
    for (t, p) in truth.iter().zip(predicted) {
        squared += (t - p) * (t - p);
        absolute += (t - p).abs();
    }
    Metrics::from([
        ("rmse".to_owned(), (squared / n).sqrt()),
        ("mae".to_owned(), absolute / n),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_metrics_match_a_hand_computed_confusion_matrix() {
        // tp = 2, fp = 1, fn = 1, tn = 1
        let m = classification(Task::Binary, &[1, 1, 1, 0, 0], &[1, 1, 0, 1, 0], None);
        assert_eq!(m["accuracy"], 0.6);
        assert!((m["precision"] - 2.0 / 3.0).abs() < 1e-12);
        assert!((m["recall"] - 2.0 / 3.0).abs() < 1e-12);
        assert!((m["f1"] - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn roc_auc_is_one_when_scores_separate_the_classes_and_half_when_they_tie() {
        assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.2, 0.8, 0.9]), Some(1.0));
        assert_eq!(roc_auc(&[0, 1, 0, 1], &[0.5, 0.5, 0.5, 0.5]), Some(0.5));
        // scikit-learn's roc_auc_score example.
        assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]), Some(0.75));
        assert_eq!(roc_auc(&[1, 1], &[0.1, 0.2]), None);
    }

    #[test]
    fn multiclass_metrics_are_macro_averages() {
        let m = classification(Task::Multiclass, &[0, 1, 2, 2], &[0, 2, 2, 2], None);
        assert_eq!(m["accuracy"], 0.75);
        // class 0: p=1 r=1; class 1: p=0 r=0; class 2: p=2/3 r=1
        assert!((m["precision"] - (1.0 + 0.0 + 2.0 / 3.0) / 3.0).abs() < 1e-12);
        assert!((m["recall"] - 2.0 / 3.0).abs() < 1e-12);
    }

    #[test]
    fn regression_errors_are_rmse_and_mae() {
        let m = regression(&[1.0, 2.0, 3.0], &[1.0, 4.0, 3.0]);
        assert!((m["rmse"] - (4.0f64 / 3.0).sqrt()).abs() < 1e-12);
        assert!((m["mae"] - 2.0 / 3.0).abs() < 1e-12);
        assert!(!higher_is_better("rmse") && higher_is_better("f1"));
    }
}
