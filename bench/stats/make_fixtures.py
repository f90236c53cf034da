"""Reference values for salus-stats from lifelines and statsmodels.

Usage: python make_fixtures.py <crates/salus-stats/tests/data>

Reads the committed data sets in that folder, builds the derived counting-process
table pbc_td.csv (PBC with time-dependent labs from pbcseq, tmerge-like), fits every
reference model and writes reference/*.json. Categorical covariates are one-hot coded
here exactly as salus-stats codes them (sorted levels, first level is the reference,
columns named `col[T.level]`), so the coefficient names match.
"""
import json
import sys
import warnings
from pathlib import Path

import lifelines
import numpy as np
import pandas as pd
import scipy
import statsmodels
import statsmodels.api as sm
from lifelines import CoxPHFitter, CoxTimeVaryingFitter, KaplanMeierFitter
from lifelines.statistics import logrank_test, multivariate_logrank_test
from statsmodels.duration.hazard_regression import PHReg
from statsmodels.duration.survfunc import survdiff

DATA = Path(sys.argv[1])
OUT = DATA / "reference"
OUT.mkdir(exist_ok=True)
VERSIONS = {
    "lifelines": lifelines.__version__,
    "statsmodels": statsmodels.__version__,
    "pandas": pd.__version__,
    "numpy": np.__version__,
    "scipy": scipy.__version__,
}
# Tight Newton-Raphson settings so that lifelines agrees with an exact optimum to far
# better than 1e-6 (its defaults stop at a step norm of 1e-7).
LIFELINES_FIT = {"precision": 1e-14, "r_precision": 1e-30, "max_steps": 500}


def level_sort_key(values):
    try:
        return sorted(values, key=float)
    except ValueError:
        return sorted(values)


def one_hot(df, categorical):
    """Dummies with the first sorted level as reference, named col[T.level]."""
    df = df.copy()
    names = []
    for col in df.columns:
        if col not in categorical:
            names.append(col)
            continue
        labels = df[col].map(fmt_level)
        levels = level_sort_key(labels.dropna().unique())
        for level in levels[1:]:
            name = f"{col}[T.{level}]"
            df[name] = (labels == level).astype(float)
            names.append(name)
        df = df.drop(columns=[col])
    return df, names


def fmt_level(v):
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def write(name, payload):
    payload["versions"] = VERSIONS
    with open(OUT / f"{name}.json", "w") as f:
        json.dump(payload, f, indent=1)
    print("wrote", name)


def coef_rows(names, params, se, z, p, with_hr):
    rows = []
    for n in names:
        row = {"name": n, "coef": float(params[n]), "se": float(se[n]), "z": float(z[n]), "p": float(p[n])}
        if with_hr:
            row["hr"] = float(np.exp(params[n]))
        rows.append(row)
    return rows


def model_frame(df, time, event, covariates, categorical, extra):
    used = [time, event] + covariates + extra
    frame = df[list(dict.fromkeys(used))].dropna()
    dropped = len(df) - len(frame)
    design, names = one_hot(frame[covariates], categorical)
    return frame, design[names], names, dropped


def cox_case(name, file, time, event, covariates, categorical=(), strata=None, start=None,
             ties="efron", tool="lifelines", event_value=None):
    df = pd.read_csv(DATA / file)
    if event_value is not None:
        df["_event"] = (df[event] == event_value).astype(int)
        event_col = "_event"
    else:
        event_col = event
    extra = [c for c in (strata, start) if c]
    frame, design, names, dropped = model_frame(df, time, event_col, covariates, list(categorical), extra)
    if tool == "lifelines":
        fitted = design.copy()
        fitted["_T"] = frame[time].values
        fitted["_E"] = frame[event_col].values
        if start:
            fitted["_S"] = frame[start].values
            fitted["_id"] = np.arange(len(fitted))
            model = CoxTimeVaryingFitter()
            kw = {"strata": [strata]} if strata else {}
            if strata:
                fitted[strata] = frame[strata].values
            model.fit(fitted, event_col="_E", start_col="_S", stop_col="_T", id_col="_id",
                      fit_options=LIFELINES_FIT, **kw)
        else:
            model = CoxPHFitter()
            if strata:
                fitted[strata] = frame[strata].values
            model.fit(fitted, duration_col="_T", event_col="_E", strata=[strata] if strata else None,
                      fit_options=LIFELINES_FIT)
        s = model.summary
        coefs = coef_rows(names, s["coef"], s["se(coef)"], s["z"], s["p"], True)
        loglik = float(model.log_likelihood_)
        if ties != "efron":
            raise ValueError("lifelines fits Efron ties only")
    else:
        strata_values = frame[strata].values if strata else None
        # statsmodels' PHReg counts a row as at risk AT its entry time (it tests
        # entry <= t), contrary to the (start, stop] convention of R and lifelines.
        # Entry times here are whole or half days, so shifting them by 1e-7 gives the
        # (start, stop] risk sets without changing anything else.
        entry = frame[start].values + 1e-7 if start else None
        model = PHReg(frame[time].values, design.values, status=frame[event_col].values,
                      entry=entry, strata=strata_values, ties=ties)
        res = model.fit(tol=1e-12, maxiter=500)
        params = pd.Series(res.params, index=names)
        se = pd.Series(res.bse, index=names)
        z = params / se
        p = pd.Series(res.pvalues, index=names)
        coefs = coef_rows(names, params, se, z, p, True)
        loglik = float(res.llf)
    write(name, {
        "kind": "cox", "tool": tool, "data": file, "time": time, "event": event,
        "event_value": event_value, "start": start, "strata": strata, "ties": ties,
        "covariates": covariates, "categorical": list(categorical),
        "n": int(len(frame)), "events": int(frame[event_col].sum()), "dropped": int(dropped),
        "loglik": loglik, "coefficients": coefs,
    })
    return model


def baseline_case(name, file, time, event, covariates):
    df = pd.read_csv(DATA / file)
    model = CoxPHFitter().fit(df[[time, event] + covariates], duration_col=time, event_col=event,
                              fit_options=LIFELINES_FIT)
    h = model.baseline_cumulative_hazard_
    write(name, {
        "kind": "baseline", "tool": "lifelines", "data": file, "time": time, "event": event,
        "covariates": covariates, "reference": [float(v) for v in df[covariates].mean()],
        "times": [float(t) for t in h.index], "cumulative_hazard": [float(v) for v in h.iloc[:, 0]],
    })


def km_case(name, file, time, event, group=None, at=()):
    df = pd.read_csv(DATA / file)
    groups = []
    labels = [None] if group is None else level_sort_key(df[group].map(fmt_level).unique())
    for label in labels:
        sub = df if label is None else df[df[group].map(fmt_level) == label]
        km = KaplanMeierFitter().fit(sub[time], sub[event])
        sf = km.survival_function_.iloc[:, 0]
        ci = km.confidence_interval_
        median = float(km.median_survival_time_)
        groups.append({
            "name": "all" if label is None else label,
            "n": int(len(sub)), "events": int(sub[event].sum()),
            "median": None if np.isinf(median) else median,
            "times": [float(t) for t in sf.index], "survival": [float(v) for v in sf],
            "lower": [float(v) for v in ci.iloc[:, 0]], "upper": [float(v) for v in ci.iloc[:, 1]],
            "at": {str(t): float(km.predict(t)) for t in at},
        })
    write(name, {"kind": "km", "tool": "lifelines", "data": file, "time": time, "event": event,
                 "group": group, "groups": groups})


def logrank_case(name, file, time, event, group, strata=None):
    df = pd.read_csv(DATA / file)
    if strata:
        stat, p = survdiff(df[time].values, df[event].values, df[group].map(fmt_level).values,
                           strata=df[strata].map(fmt_level).values)
        tool = "statsmodels"
        df_ = len(df[group].unique()) - 1
    else:
        r = multivariate_logrank_test(df[time], df[group], df[event])
        stat, p, df_ = r.test_statistic, r.p_value, r.degrees_of_freedom
        tool = "lifelines"
    write(name, {"kind": "logrank", "tool": tool, "data": file, "time": time, "event": event,
                 "group": group, "strata": strata, "statistic": float(stat), "p": float(p), "df": int(df_)})


def glm_case(name, file, outcome, covariates, categorical=(), family="logistic"):
    df = pd.read_csv(DATA / file)
    frame = df[[outcome] + covariates].dropna()
    design, names = one_hot(frame[covariates], list(categorical))
    x = sm.add_constant(design[names], has_constant="add").rename(columns={"const": "intercept"})
    names = ["intercept"] + names
    y = frame[outcome].astype(float)
    if family == "logistic":
        res = sm.Logit(y, x).fit(method="newton", tol=1e-14, maxiter=200, disp=False)
        stat = res.tvalues
    else:
        res = sm.OLS(y, x).fit()
        stat = res.tvalues
    write(name, {
        "kind": family, "tool": "statsmodels", "data": file, "outcome": outcome,
        "covariates": covariates, "categorical": list(categorical),
        "n": int(res.nobs), "dropped": int(len(df) - len(frame)), "loglik": float(res.llf),
        "null_loglik": float(res.llnull if family == "logistic" else sm.OLS(y, np.ones(len(y))).fit().llf),
        "coefficients": coef_rows(names, res.params, res.bse, stat, res.pvalues, False),
    })


def build_pbc_td():
    """(start, stop] rows with the labs measured at each visit, as R's
    tmerge(pbc, pbcseq, id, death = event(futime, status == 2), bili = tdc(day, bili), ...)."""
    seq = pd.read_csv(DATA / "pbcseq.csv").sort_values(["id", "day"])
    rows = []
    for pid, visits in seq.groupby("id", sort=True):
        futime = visits["futime"].iloc[0]
        status = visits["status"].iloc[0]
        visits = visits[visits["day"] < futime].drop_duplicates("day", keep="last")
        days = list(visits["day"]) + [futime]
        for k, (_, v) in enumerate(visits.iterrows()):
            start, stop = days[k], days[k + 1]
            last = k == len(visits) - 1
            rows.append({
                "id": int(pid), "start": start, "stop": stop,
                "death": int(last and status == 2), "age": v["age"], "edema": v["edema"],
                "bili": v["bili"], "albumin": v["albumin"], "protime": v["protime"],
            })
    td = pd.DataFrame(rows)
    for col in ("bili", "albumin", "protime"):
        td[f"log_{col}"] = np.log(td[col])
    td.to_csv(DATA / "pbc_td.csv", index=False, float_format="%.17g")
    print("wrote pbc_td.csv", td.shape)


def main():
    warnings.simplefilter("ignore")
    gbsg = ["horTh", "age", "menostat", "tsize", "tgrade", "pnodes", "progrec", "estrec"]
    gbsg_cat = ["horTh", "menostat", "tgrade"]
    cox_case("gbsg2_efron", "gbsg2.csv", "time", "cens", gbsg, gbsg_cat)
    cox_case("gbsg2_breslow", "gbsg2.csv", "time", "cens", gbsg, gbsg_cat, ties="breslow", tool="statsmodels")
    no_grade = [c for c in gbsg if c != "tgrade"]
    cox_case("gbsg2_strata_efron", "gbsg2.csv", "time", "cens", no_grade, ["horTh", "menostat"], strata="tgrade")
    cox_case("gbsg2_strata_breslow", "gbsg2.csv", "time", "cens", no_grade, ["horTh", "menostat"],
             strata="tgrade", ties="breslow", tool="statsmodels")
    rossi = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    cox_case("rossi_efron", "rossi.csv", "week", "arrest", rossi)
    cox_case("rossi_breslow", "rossi.csv", "week", "arrest", rossi, ties="breslow", tool="statsmodels")
    no_wexp = [c for c in rossi if c != "wexp"]
    cox_case("rossi_strata_efron", "rossi.csv", "week", "arrest", no_wexp, strata="wexp")
    cox_case("rossi_strata_breslow", "rossi.csv", "week", "arrest", no_wexp, strata="wexp",
             ties="breslow", tool="statsmodels")
    whas = ["age", "gender", "hr", "sysbp", "diasbp", "bmi", "cvd", "afb", "sho", "chf", "av3", "miord", "mitype"]
    cox_case("whas500_efron", "whas500.csv", "lenfol", "fstat", whas)
    cox_case("whas500_breslow", "whas500.csv", "lenfol", "fstat", whas, ties="breslow", tool="statsmodels")
    heart = ["age", "year", "surgery", "transplant"]
    cox_case("stanford_efron", "stanford_heart.csv", "stop", "event", heart, start="start")
    cox_case("stanford_breslow", "stanford_heart.csv", "stop", "event", heart, start="start",
             ties="breslow", tool="statsmodels")
    build_pbc_td()
    pbc = ["age", "edema", "log_bili", "log_albumin", "log_protime"]
    cox_case("pbc_td_efron", "pbc_td.csv", "stop", "death", pbc, start="start")
    cox_case("pbc_td_breslow", "pbc_td.csv", "stop", "death", pbc, start="start", ties="breslow",
             tool="statsmodels")
    baseline_case("rossi_baseline", "rossi.csv", "week", "arrest", rossi)
    km_case("gbsg2_km_horth", "gbsg2.csv", "time", "cens", group="horTh", at=(365, 1000, 2000))
    km_case("rossi_km", "rossi.csv", "week", "arrest", at=(10, 26, 52))
    km_case("whas500_km_gender", "whas500.csv", "lenfol", "fstat", group="gender", at=(30, 365, 1000))
    logrank_case("gbsg2_logrank_horth", "gbsg2.csv", "time", "cens", "horTh")
    logrank_case("gbsg2_logrank_tgrade", "gbsg2.csv", "time", "cens", "tgrade")
    logrank_case("gbsg2_logrank_horth_by_menostat", "gbsg2.csv", "time", "cens", "horTh", strata="menostat")
    # (Chest pain type `cp` is not used: its level 0 has only target 0, a quasi-separation
    # that salus-stats reports instead of fitting; see tests/failures.rs.)
    heart_x = ["age", "sex", "trestbps", "chol", "thalach", "exang", "oldpeak", "slope", "ca"]
    glm_case("heart_logit", "heart_disease.csv", "target", heart_x, categorical=["slope"])
    glm_case("breast_logit", "breast_cancer.csv", "target", ["mean_radius", "mean_texture", "mean_smoothness"])
    glm_case("heart_ols", "heart_disease.csv", "thalach", ["age", "sex", "chol", "trestbps"], family="ols")


if __name__ == "__main__":
    main()
