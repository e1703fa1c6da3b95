"""Questions asked of a whole account, answered with the engine's Decisions.

=======================  ==============================================================
``effective``            every action a principal may perform, and what decided it
``lint``                 a policy checked against the catalog: unknown actions, wide grants
``least_privilege``      a policy generated from activity
``unused``               the grants of a principal's policies its activity never used
``audit``                the account checked for risky settings, rule by rule
``credential_report``    the IAM credential report read into typed rows
``report``               the audit's findings and report
``simulator``            AWS's SimulateCustomPolicy and SimulatePrincipalPolicy
``simulator_request``    their parameters, read and checked
``simulator_entity``     SimulatePrincipalPolicy's user, group or role and its policies
``simulator_response``   each action and resource evaluated once, in AWS's response shape
=======================  ==============================================================
"""
